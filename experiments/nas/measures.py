"""What the DARTS claim on the MLP space (darts_mlp_digits.py) measures: search, discretize, retrain
the derived architecture as the tabular benchmark's entries were trained, and compare it with the
benchmark's median architecture at the same budget."""

import json

from experiments import harness
from train.config import base_config

FALLBACK_BUDGET = 270    # retraining steps when the tabular benchmark is not there
FALLBACK_ARCHS = 30


def retrain_config(arch, steps: int, seed: int):
  """Trains one architecture of the space from scratch exactly as the tabular benchmark's entries
  were trained (experiments/nas/make_table.py `single_config`: Adam 1e-3 constant, batch 32, the
  first 1077 training examples, test split evaluated), so that its accuracy compares with them."""
  try:
    from experiments.nas import make_table
  except ImportError:
    make_table = None
  if make_table is not None:
    return make_table.single_config(tuple(arch), seed, steps)
  c = base_config()   # the same setting, written out, for a checkout without the benchmark
  c.seed = seed
  c.model.name = 'nas_mlp'
  c.model.variant = 'tiny'
  c.model.arch = tuple(int(op) for op in arch)
  c.data.name = 'nnzoo_digits'
  c.data.train_split = 'train[:1077]'
  c.data.batch_size = 32
  c.optimizer.name = 'adam'
  c.optimizer.learning_rate = 1e-3
  c.optimizer.schedule = 'constant'
  c.num_steps = steps
  c.log_every, c.eval_every, c.ckpt_every, c.plots = 30, 0, 0, False
  return c


def benchmark_median(cache_dir):
  """(budget, median test accuracy) of the tabular benchmark at its largest budget.

  Without the benchmark (experiments/nas/table.py or its table file not in this checkout) the
  median comes from FALLBACK_ARCHS random architectures of the space trained here once (seed 0
  each, cached in cache_dir/random_median.json with the commit that trained them, read back at that
  commit only) for FALLBACK_BUDGET steps, the same way.
  """
  try:
    from experiments.nas import table
    bench = table.load()
  except (ImportError, FileNotFoundError):
    return FALLBACK_BUDGET, _random_median(cache_dir)
  budget = max(bench.budgets)
  return budget, float(bench.median_test_accuracy(budget))


def _random_median(cache_dir):
  import numpy as np
  from experiments import provenance
  from models import nas_mlp
  from train import loop
  from train import tally
  path, here = cache_dir / 'random_median.json', provenance.reusable_commit()
  if path.exists():
    done = json.loads(path.read_text())
    # Runs of other code (or of a changed tree, unless this process trained them) train again.
    if tally.made_here(path) or (here is not None and done.get('commit') == here):
      for _ in done['accuracies']:
        tally.reused(path, here)
      return done['median']
  trained_at = provenance.commit()
  archs = nas_mlp.all_architectures()
  picks = np.random.default_rng(0).choice(len(archs), FALLBACK_ARCHS, replace=False)
  accuracies = {}
  for i in picks:
    arch = archs[int(i)]
    run = loop.train_and_evaluate(retrain_config(arch, FALLBACK_BUDGET, 0),
                                  cache_dir / 'random_arch', overwrite=True, progress=False)
    accuracies[nas_mlp.describe(arch)] = float(run['eval']['accuracy'])
  median = float(np.median(list(accuracies.values())))
  cache_dir.mkdir(parents=True, exist_ok=True)
  path.write_text(json.dumps({'median': median, 'budget': FALLBACK_BUDGET,
                              'accuracies': accuracies, 'commit': trained_at}, indent=1))
  tally.also_at(path)
  print(f'  median of {FALLBACK_ARCHS} random architectures at {FALLBACK_BUDGET} steps: '
        f'{median:.4f}', flush=True)
  return median


def darts_vs_median(config, seed, workdir, overrides, alpha_moved: float):
  """Searches with `config` (a `darts` run) and `seed`, retrains the argmax architecture for the
  benchmark's budget, and returns (retrained accuracy - the benchmark's median, or -1 if alpha's
  max |p - 1/K| stayed under `alpha_moved` or the architecture is not in the space; details). The
  details also go to workdir/darts.json."""
  import jax
  import models
  from train import loop
  from train.objectives import darts as darts_objective
  search = harness.seeded_run(config, seed, workdir / 'search', overrides)
  found = darts_objective.architecture_summary(
      models.build(config.model), jax.device_get(search['state'].params['alpha']))
  arch = found['architecture']
  budget, median = benchmark_median(workdir.parent)
  retrain = loop.train_and_evaluate(retrain_config(arch, budget, seed), workdir / 'retrain',
                                    overwrite=True, progress=False)
  accuracy = float(retrain['eval']['accuracy'])
  valid = _valid(arch)
  moved = found['alpha_max_dev'] >= alpha_moved
  value = accuracy - median if valid and moved else -1.0
  info = dict(found, architecture=list(arch), retrained_accuracy=accuracy, budget=budget,
              table_median=median, supernet_accuracy=search['eval']['accuracy'], valid=valid,
              alpha_moved=moved, value=value)
  (workdir / 'darts.json').write_text(json.dumps(info, indent=1))
  print(f'  seed {seed}: {" > ".join(found["ops"])} (arch {tuple(arch)}), parameter-free share '
        f'{found["parameter_free_share"]:.2f}, alpha max dev {found["alpha_max_dev"]:.3f} '
        f'entropy {found["alpha_entropy"]:.3f}; retrained {accuracy:.4f} vs table median '
        f'{median:.4f} at {budget} steps', flush=True)
  return value, {k: info[k] for k in ('architecture', 'ops', 'parameter_free_share',
                                      'alpha_max_dev', 'alpha_entropy', 'retrained_accuracy',
                                      'table_median', 'budget')}


def _valid(arch) -> bool:
  from models import nas_mlp
  try:
    return nas_mlp.validate(arch) in set(nas_mlp.all_architectures())
  except ValueError:
    return False
