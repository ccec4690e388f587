"""python -m experiments.nas.make_table [--seeds 0,1,2] [--out experiments/nas/table/mlp_digits.npz]

Builds the study's tabular benchmark (the idea of NAS-Bench-101, Ying et al. 2019, at CPU scale):
every one of the 1000 architectures of models/nas_mlp.py trained on the 8x8 digits with several
seeds, validation and test accuracy recorded at each budget of BUDGETS training steps.

All 1000 candidates of one seed train at once, through the engine (`python -m train` with the
population objective: one vmapped, jitted step, the population axis sharded over the devices).
The learning rate is constant, so the state after b steps IS a run with a budget of b steps: the
run stops at each budget (`stop_after`, as a preempted run does), is evaluated per candidate, and
resumes from its checkpoint. Validation is a fixed held-out part of the train split (its last
VALID examples, which the training run never sees); test is the test split.
"""

import argparse
import json
import os
import shutil
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

import models
from experiments import provenance
from models import nas_mlp
from train import config as config_lib
from train import data
from train import loop
from train import objectives

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(REPO, 'experiments', 'nas', 'table', 'mlp_digits.npz')
BUDGETS = (30, 90, 270)        # training steps; ratio 3 = successive halving's eta
SEEDS = (0, 1, 2)
BATCH = 32
LEARNING_RATE = 1e-3
NUM_TRAIN = 1437
VALID = 360                    # the last VALID examples of the train split
TRAIN_SPLIT = f'train[:{NUM_TRAIN - VALID}]'
VALID_SPLIT = f'train[{NUM_TRAIN - VALID}:]'


def config(seed: int = 0, archs=(), num_steps: int = BUDGETS[-1]) -> ml_collections.ConfigDict:
  """The engine config of one table run: `archs` (default: all 1000) trained at once."""
  c = config_lib.base_config()
  c.seed = seed
  c.objective = 'population'
  c.model = ml_collections.ConfigDict({'name': 'nas_mlp', 'variant': 'population',
                                       'archs': tuple(tuple(a) for a in archs)})
  c.mesh.data, c.mesh.model = 1, -1       # the population axis over every device
  c.sharding.rules = nas_mlp.POPULATION_SHARDING
  c.data.name = 'nnzoo_digits'
  c.data.train_split, c.data.eval_split = TRAIN_SPLIT, VALID_SPLIT
  c.data.batch_size = BATCH
  c.optimizer.name, c.optimizer.learning_rate = 'adam', LEARNING_RATE
  c.optimizer.schedule = 'constant'       # so a budget-b run is the first b steps of a longer one
  c.num_steps = num_steps
  c.log_every, c.eval_every, c.ckpt_every, c.plots = 30, 0, 0, False
  return c


def single_config(arch, seed: int = 0, num_steps: int = BUDGETS[-1], eval_split: str = 'test'):
  """One table entry as its own engine run of the discrete network (models/nas_mlp.py SpaceMLP):
  same data, order, optimizer and steps; evaluated on `eval_split` (test by default).
  tests/test_nas_table.py trains a few and compares them with the table."""
  c = config(seed, (), num_steps)
  c.objective = 'classification'
  c.model = ml_collections.ConfigDict({'name': 'nas_mlp', 'variant': 'tiny',
                                       'arch': tuple(nas_mlp.validate(arch))})
  c.mesh.data, c.mesh.model = -1, 1
  c.sharding.rules = ()
  c.data.eval_split = eval_split
  return c


def read_split(c, split: str) -> dict:
  return data.scale_images(data.ArraySource(data.open_source(c.data, split)).arrays)


def candidate_accuracy(c):
  """fn(state, arrays) -> accuracy per candidate [P], for the population config `c`."""
  objective = objectives.build(c, models.build(c.model), None)
  correct = jax.jit(objective.candidate_correct)

  def fn(state, arrays):
    n = len(arrays['label'])
    batch = {k: jnp.asarray(v) for k, v in arrays.items()}
    batch['mask'] = jnp.ones((n,), jnp.float32)
    return np.asarray(correct(state, batch)) / n
  return fn


def train_seed(seed: int, workdir: str, budgets=BUDGETS, archs=(), progress=False):
  """(valid [len(budgets), P], test [len(budgets), P]) of one seed's population run."""
  c = config(seed, archs, budgets[-1])
  splits = {'valid': read_split(c, VALID_SPLIT), 'test': read_split(c, 'test')}
  accuracy = candidate_accuracy(c)
  out = {'valid': [], 'test': []}
  for b in budgets:
    summary = loop.train_and_evaluate(c, workdir, stop_after=b if b < budgets[-1] else 0,
                                      progress=progress)
    assert summary['step'] == b, (summary['step'], b)
    for name, arrays in splits.items():
      out[name].append(accuracy(summary['state'], arrays))
  return np.stack(out['valid']), np.stack(out['test'])


def num_params(arch) -> int:
  return sum(fi * fo + fo for fi, fo in filter(None, nas_mlp.live_shapes(arch)))


def main(argv=None):
  parser = argparse.ArgumentParser(prog='python -m experiments.nas.make_table', description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--seeds', default=','.join(map(str, SEEDS)))
  parser.add_argument('--out', default=DEFAULT_OUT)
  parser.add_argument('--workdir', default='runs/nas_table')
  args = parser.parse_args(argv)
  seeds = [int(s) for s in args.seeds.split(',')]
  archs = nas_mlp.all_architectures()
  stamp = provenance.stamp()     # the code that trains, before anything can change under it
  valid, test, seconds = [], [], []
  for seed in seeds:
    t0 = time.perf_counter()
    wd = os.path.abspath(os.path.join(args.workdir, f'seed{seed}'))
    shutil.rmtree(wd, ignore_errors=True)
    v, t = train_seed(seed, wd)
    shutil.rmtree(wd, ignore_errors=True)    # 1000 candidates' checkpoints: ~100 MB each
    valid.append(v)
    test.append(t)
    seconds.append(round(time.perf_counter() - t0, 1))
    print(f'seed {seed}: {seconds[-1]} s; test accuracy at {BUDGETS[-1]} steps: median '
          f'{np.median(t[-1]):.4f}, best {t[-1].max():.4f}', flush=True)
  meta = {'budgets': list(BUDGETS), 'seeds': seeds, 'batch_size': BATCH,
          'learning_rate': LEARNING_RATE, 'optimizer': 'adam, constant learning rate',
          'train_split': TRAIN_SPLIT, 'valid_split': VALID_SPLIT, 'test_split': 'test',
          'data': 'nnzoo_digits', 'seconds_per_seed': seconds,
          'devices': jax.device_count(), 'command': 'python -m experiments.nas.make_table',
          **stamp}
  os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
  # [budget, seed, arch] float32; architecture i is nas_mlp.from_index(i).
  np.savez_compressed(args.out, valid=np.stack(valid, 1).astype(np.float32),
                      test=np.stack(test, 1).astype(np.float32),
                      num_params=np.array([num_params(a) for a in archs], np.int64),
                      meta=np.array(json.dumps(meta)))
  print(f'wrote {args.out} ({os.path.getsize(args.out)} bytes) in {sum(seconds):.0f} s')


if __name__ == '__main__':
  main()
