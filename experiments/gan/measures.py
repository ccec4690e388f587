"""Numbers of the ring experiments: high-quality sample fraction and modes covered per seed."""

from experiments import harness

COVERED = 0.01   # a mode is covered when at least 1% of all samples are high-quality and near it


def modes_covered(eval_metrics: dict) -> int:
  return sum(1 for k, v in eval_metrics.items() if k.startswith('mode_') and v >= COVERED)


def ring_run(get_config, seed, workdir, overrides) -> dict:
  config = get_config()
  metrics = harness.seeded_run(config, seed, workdir, overrides)['eval']
  print(f'    seed {seed}: high-quality samples {metrics["high_quality"]:.3f}, modes covered '
        f'{modes_covered(metrics)} of 8', flush=True)
  return metrics
