"""python -m experiments.nas.make_fashion_table [--out experiments/nas/table/cnn_fashion.npz]
    [--workdir runs/nas_fashion_table] [--estimate]

Builds the Fashion NAS study's pool table: POOL architectures drawn uniformly from the CNN space
(models/nas_cnn.py, at most the 2-conv net's parameters: experiments/nas/fashion_space.py), each
trained once at low fidelity and scored on a validation split carved from the training set and on
the test split. The claims (fashion_evolution_vs_random.py, fashion_retrain_best.py) read the
table; nothing else is trained for the searches.

Low fidelity: the 2-conv net's recipe (Adam 1e-3, constant rate, pixels / 255, dropout 0.4) for
STEPS steps of batch BATCH, on the first 60000 - VALID training images; validation is the last
VALID training images (never trained on), test the first TEST images of the test split.

Candidates train CHUNK at a time through the engine (`python -m train`'s loop, objective
`population`, nas_cnn `PopulationCNN`): one jitted step trains the whole chunk on the same batches,
each candidate exactly as alone. The engine's final evaluation gives each candidate's validation
count (summary['eval_tables']); the test count comes from `candidate_correct` on the same state.
Each finished chunk is written to the workdir, so a killed build goes on from the next chunk.

--estimate trains the first chunk for a few steps on small splits, times compile, training and
evaluation, and prints the pool's estimated build time (scaled by the pool's multiply-adds).
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
from experiments.fashion import common
from experiments.nas import fashion_space
from models import nas_cnn
from train import data
from train import loop
from train import objectives

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(REPO, 'experiments', 'nas', 'table', 'cnn_fashion.npz')
POOL = 120           # architectures in the table (<= 60 CPU minutes: README)
POOL_SEED = 0        # which ones (nas_cnn.Space.sample)
SEED = 0             # the training seed: data order and initializations
STEPS = 100
BATCH = 32
LEARNING_RATE = 1e-3
VALID = 2000         # the last VALID training images
TEST = 2000          # the first TEST test images
CHUNK = 20           # candidates per engine run (one compiled step)
EVAL_BATCH = 500
TRAIN_SPLIT = f'train[:{common.TRAIN - VALID}]'
VALID_SPLIT = f'train[{common.TRAIN - VALID}:]'
TEST_SPLIT = f'test[:{TEST}]'


def pool(size: int = POOL, seed: int = POOL_SEED) -> list[tuple[int, ...]]:
  """The table's architectures, in space index order."""
  return fashion_space.space().sample(size, seed)


def config(archs, steps: int = STEPS, seed: int = SEED, valid_split: str = VALID_SPLIT):
  """The engine config that trains `archs` at once at the table's fidelity."""
  c = common.base(batch=BATCH)
  c.seed = seed
  c.objective = 'population'
  c.model = ml_collections.ConfigDict({'name': 'nas_cnn', 'variant': 'population',
                                       'archs': tuple(tuple(int(x) for x in a) for a in archs)})
  c.data.train_split, c.data.eval_split = TRAIN_SPLIT, valid_split
  c.data.eval_batch_size = EVAL_BATCH
  c.optimizer.learning_rate = LEARNING_RATE
  c.optimizer.schedule = 'constant'
  c.num_steps = steps
  c.log_every, c.eval_every, c.ckpt_every, c.plots = steps, 0, 0, False
  return c


def candidate_accuracy(c, arrays):
  """Accuracy per candidate [P] on `arrays` for a trained state of population config `c`."""
  objective = objectives.build(c, models.build(c.model), None)
  correct = jax.jit(objective.candidate_correct)

  def fn(state):
    total, n = 0., len(arrays['label'])
    for start in range(0, n, EVAL_BATCH):
      batch = {k: jnp.asarray(v[start:start + EVAL_BATCH]) for k, v in arrays.items()}
      batch['mask'] = jnp.ones((len(batch['label']),), jnp.float32)
      total = total + np.asarray(correct(state, batch))
    return total / n
  return fn


def read_split(c, split: str) -> dict:
  arrays = data.scale_images(data.ArraySource(data.open_source(c.data, split)).arrays)
  return {k: arrays[k] for k in ('image', 'label')}


def train_chunk(archs, workdir, steps=STEPS, valid_split=VALID_SPLIT, test_split=TEST_SPLIT):
  """(validation accuracy [P], test accuracy [P], seconds {compile, train, eval}) of `archs`."""
  c = config(archs, steps, valid_split=valid_split)
  t0 = time.perf_counter()
  summary = loop.train_and_evaluate(c, workdir, overwrite=True, progress=False)
  t1 = time.perf_counter()
  n_valid = len(data.open_source(c.data, valid_split))
  valid = np.asarray(summary['eval_tables']['candidate_correct']) / n_valid
  test = candidate_accuracy(c, read_split(c, test_split))(summary['state'])
  seconds = {'compile': summary['compile_s'], 'train': summary['train_time_s'],
             'run': round(t1 - t0, 1), 'test_eval': round(time.perf_counter() - t1, 1)}
  return valid, test, seconds


class _Clock:
  """CPU seconds of this process (all its threads) and wall seconds of a block of work."""

  def __enter__(self):
    self.cpu, self.wall = time.process_time(), time.perf_counter()
    return self

  def __exit__(self, *exc):
    self.cpu, self.wall = time.process_time() - self.cpu, time.perf_counter() - self.wall


def _time_steps(c, steps):
  """CPU and wall seconds of init, train-step compile and one step of config `c` (the engine's
  own build: its XLA options, shardings and donation)."""
  from train import sharding as sharding_lib
  mesh = sharding_lib.make_mesh(c.mesh)
  pipeline = data.make_pipeline(c)
  batch = data.global_batch(pipeline.train_batch(0), sharding_lib.batch_sharding(mesh))
  run = loop.build(c, mesh, batch)
  with _Clock() as init:
    state = jax.block_until_ready(run.init(batch))
  with _Clock() as compile_:
    step = run.compiled_train_step(state, batch)
  state, _ = jax.block_until_ready(step(state, batch))
  with _Clock() as train:
    for _ in range(steps):
      state, metrics = step(state, batch)
    jax.block_until_ready(metrics)
  return state, {'init': init, 'compile': compile_, 'step': train, 'steps': steps}


def reference_seconds_per_step() -> float:
  """Wall seconds a step of experiments/fashion/cnn2.py took where it was recorded (all of the
  recorded claim's time, evaluations and compiles included, over its steps)."""
  path = os.path.join(REPO, 'experiments', 'fashion', 'results', 'cnn2.json')
  with open(path) as f:
    r = json.load(f)
  from experiments.fashion import cnn2
  return r['wall_s'] / (len(r['seeds']) * cnn2.get_config().num_steps)


def estimate(archs, steps=5, images=500):
  """Minutes the pool would take on the host that recorded experiments/fashion/cnn2.py, from
  CPU-time measurements here (so that other work on this host does not inflate them): the first
  chunk's init, compile, steps and evaluation, and the same for the 2-conv net's recorded config.
  Steps and evaluation scale by (recorded wall / measured CPU) of the 2-conv net's step, and by
  the pool's multiply-adds over the chunk's; compiles count at their CPU time (one thread)."""
  from experiments.fashion import cnn2
  _, ref = _time_steps(cnn2.get_config(), steps)
  ref_cpu = ref['step'].cpu / steps
  factor = reference_seconds_per_step() / ref_cpu
  chunk = archs[:CHUNK]
  c = config(chunk, steps)
  state, t = _time_steps(c, steps)
  accuracy = candidate_accuracy(c, read_split(c, f'test[:{images}]'))
  with _Clock() as first:
    accuracy(state)                      # compiles the forward pass, then evaluates
  with _Clock() as again:
    accuracy(state)
  per_image = again.cpu / images
  eval_compile = max(first.cpu - again.cpu, 0.)
  scale = sum(map(nas_cnn.macs, archs)) / sum(map(nas_cnn.macs, chunk))
  chunks = len(archs) / len(chunk)
  fixed = (t['init'].cpu + t['compile'].cpu + 2 * eval_compile) * chunks   # 2: valid, test
  work = factor * (t['step'].cpu / steps * STEPS + per_image * (VALID + TEST)) * scale
  print(f'2-conv net (batch {cnn2.get_config().data.batch_size}): {ref_cpu:.3f} CPU s a step '
        f'here; {reference_seconds_per_step():.3f} wall s a step where it was recorded '
        f'(factor {factor:.2f})')
  print(f'first chunk: {len(chunk)} candidates, {sum(map(nas_cnn.macs, chunk)) / 1e6:.0f}M '
        f'multiply-adds an image (the pool: {len(archs)} candidates, {scale:.2f}x a chunk)')
  print(f'  CPU s: init {t["init"].cpu:.1f}, train-step compile {t["compile"].cpu:.1f}, '
        f'{t["step"].cpu / steps:.2f} a step of batch {c.data.batch_size}, eval compile '
        f'{eval_compile:.1f}, {per_image * 1e3:.1f} ms an image; (wall here: compile '
        f'{t["compile"].wall:.1f}, {t["step"].wall / steps:.2f} a step)')
  print(f'estimated pool build: {(fixed + work) / 60:.1f} min (init and compiles '
        f'{fixed / 60:.1f}; {STEPS} steps, {VALID} validation and {TEST} test images per '
        f'candidate {work / 60:.1f})', flush=True)
  return fixed + work


def main(argv=None):
  parser = argparse.ArgumentParser(prog='python -m experiments.nas.make_fashion_table',
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--out', default=DEFAULT_OUT)
  parser.add_argument('--workdir', default='runs/nas_fashion_table')
  parser.add_argument('--estimate', action='store_true')
  args = parser.parse_args(argv)
  archs = pool()
  if args.estimate:
    estimate(archs)
    return
  stamp = provenance.stamp()     # the code that trains, before anything can change under it
  valid, test, seconds = [], [], []
  os.makedirs(args.workdir, exist_ok=True)
  for i in range(0, len(archs), CHUNK):
    chunk = archs[i:i + CHUNK]
    done = os.path.join(args.workdir, f'chunk{i // CHUNK}.json')
    settings = {'archs': [list(a) for a in chunk], 'steps': STEPS, 'batch': BATCH,
                'valid_split': VALID_SPLIT, 'test_split': TEST_SPLIT, 'seed': SEED,
                'commit': stamp.get('commit')}
    if os.path.exists(done):
      with open(done) as f:
        kept = json.load(f)
      if kept['settings'] == settings:
        valid += kept['valid']
        test += kept['test']
        seconds.append(kept['seconds'])
        print(f'chunk {i // CHUNK}: read back from {done}', flush=True)
        continue
    wd = os.path.abspath(os.path.join(args.workdir, f'chunk{i // CHUNK}'))
    v, t, s = train_chunk(chunk, wd)
    shutil.rmtree(wd, ignore_errors=True)    # the chunk's checkpoint: parameters and Adam moments
    with open(done, 'w') as f:
      json.dump({'settings': settings, 'valid': v.tolist(), 'test': t.tolist(), 'seconds': s}, f)
    valid += v.tolist()
    test += t.tolist()
    seconds.append(s)
    print(f'chunk {i // CHUNK} ({i + len(chunk)}/{len(archs)}): {s}; validation accuracy best '
          f'{v.max():.4f} median {np.median(v):.4f}', flush=True)
  total = sum(s['run'] + s['test_eval'] for s in seconds)
  meta = {'budgets': [STEPS], 'seeds': [SEED], 'batch_size': BATCH, 'learning_rate': LEARNING_RATE,
          'optimizer': 'adam, constant learning rate', 'dropout': nas_cnn.DROPOUT,
          'train_split': TRAIN_SPLIT, 'valid_split': VALID_SPLIT, 'test_split': TEST_SPLIT,
          'data': 'fashion_mnist', 'pool': len(archs), 'pool_seed': POOL_SEED,
          'max_params': fashion_space.max_params(), 'space_size': fashion_space.space().size,
          'chunk': CHUNK, 'seconds': round(total, 1), 'seconds_per_chunk': seconds,
          'devices': jax.device_count(), 'command': 'python -m experiments.nas.make_fashion_table',
          **stamp}
  os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
  # Arrays are [budget, seed, pool position]; the architecture at position i is
  # nas_cnn.from_code(codes[i]).
  np.savez_compressed(
      args.out, valid=np.asarray(valid, np.float32)[None, None],
      test=np.asarray(test, np.float32)[None, None],
      codes=np.array([nas_cnn.code(a) for a in archs], np.int64),
      num_params=np.array([nas_cnn.num_params(a) for a in archs], np.int64),
      macs=np.array([nas_cnn.macs(a) for a in archs], np.int64), meta=np.array(json.dumps(meta)))
  print(f'wrote {args.out} ({os.path.getsize(args.out)} bytes); training took {total / 60:.1f} min')


if __name__ == '__main__':
  main()
