"""Numbers of the ring experiments: high-quality sample fraction and modes covered per seed."""

import os

from train import config as config_lib
from train import loop

COVERED = 0.01   # a mode is covered when at least 1% of all samples are high-quality and near it


def modes_covered(eval_metrics: dict) -> int:
  return sum(1 for k, v in eval_metrics.items() if k.startswith('mode_') and v >= COVERED)


def ring_run(get_config, seed, workdir, overrides) -> dict:
  config = get_config()
  with config.unlocked():
    config.seed = seed
  config_lib.apply_overrides(config, overrides)
  metrics = loop.train_and_evaluate(config, os.path.abspath(workdir), overwrite=True,
                                    progress=False)['eval']
  print(f'    seed {seed}: high-quality samples {metrics["high_quality"]:.3f}, modes covered '
        f'{modes_covered(metrics)} of 8', flush=True)
  return metrics
