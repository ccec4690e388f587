"""Resume bit for bit, for every objective family: N steps in one call of the loop against N/2
steps, a stop (the checkpoint a preempted run writes) and a second, fresh call that resumes to N.

Each case turns on what a resume can lose: dropout (an RNG folded with the step), batch norm
(model_state), a warmup-cosine schedule (the optimizer's step count), evaluations between steps
(which must not move the data), two optimizers (GAN, DARTS), running sums (RBF's normal
equations, mid-phase at the stop), schedules of its own (SOM), a padded population, FSDP together
with regex sharding rules over a second mesh axis. Every leaf of the final state (step, params,
optimizer state, model_state, rng) must be equal with np.array_equal, the logged train and eval
rows too (timings aside), and every optimizer state must have counted every update it was given.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.overrides import set_keys
from train import config as config_lib
from train import loop
from train import metrics as metrics_lib
from train.sharding import path_str

TIMINGS = ('time', 'steps_per_s', 'examples_per_s', 'eval_s')

# name -> (config, overrides, num_steps, stop_after, {optimizer group: updates per step})
CASES = {
    'classification_dropout_bn_warmup_cosine_evals': (
        'experiments/zoo/cnn_digits.py:tiny',
        {'model.dropout': 0.3, 'model.batch_norm': True, 'optimizer.schedule': 'warmup_cosine',
         'optimizer.warmup_steps': 3, 'eval_every': 2, 'data.eval_batch_size': 64},
        8, 4, {'': 1}),
    'gan_two_optimizers': (
        'experiments/gan/gan_ring.py:tiny', {'eval_every': 3}, 8, 4, {'g': 1, 'd': 2}),
    'darts_two_optimizers': (
        'experiments/nas/darts_mlp_digits.py:tiny', {'eval_every': 3}, 6, 3, {'w': 1, 'alpha': 1}),
    # k-means steps 0-2, least squares summed over steps 3-5 (the stop at 4 falls mid-sum), then
    # gradient fine-tuning with the optimizer in steps 6-7.
    'rbf_running_sums': (
        'experiments/rbf/mackey_glass_6.py:tiny',
        {'objective_args.kmeans_steps': 3, 'objective_args.fit_steps': 3,
         'optimizer.learning_rate': 1e-3}, 8, 4, {'': 2}),
    'som_schedules': ('experiments/som/som_iris.py:tiny', {'eval_every': 2}, 6, 3, {}),
    'nas_population': ('experiments/nas/evolution_vs_random.py:tiny', {}, 6, 3, {'': 1}),
    # FSDP over 'data' for every leaf of 64 values or more, regex rules over a second mesh axis
    # for two kernels (a rule wins over FSDP for the leaves it matches).
    'fsdp_and_sharding_rules': (
        'experiments/zoo/cnn_digits.py:tiny',
        {'mesh': {'data': 4, 'model': 2}, 'sharding.fsdp': True, 'sharding.fsdp_min_size': 64,
         'sharding.rules': (('Dense_0/kernel$', (None, 'model')),
                            ('Conv_1/kernel$', (None, None, None, 'model'))),
         'model.dropout': 0.3}, 6, 3, {'': 1}),
}


def make_config(name, data_dir):
  path, overrides, num_steps, _, _ = CASES[name]
  c = config_lib.load(path)
  with c.unlocked():
    c.data.data_dir = data_dir
    c.num_steps = num_steps
    c.log_every = 1
    c.plots = False
    c.ckpt_every = 0
  return set_keys(c, **overrides)


def rows(workdir):
  return [{k: v for k, v in r.items() if k not in TIMINGS} for r in metrics_lib.read(workdir)]


def leaves(state):
  out = jax.tree_util.tree_leaves_with_path(jax.device_get(state))
  return [(path_str(p), np.asarray(x)) for p, x in out]


def update_counts(opt_state) -> dict:
  """{group: the step counts its optimizer state keeps} ('' when there is one optimizer)."""
  counts = {}
  for path, x in jax.tree_util.tree_leaves_with_path(jax.device_get(opt_state)):
    name = path_str(path)
    if name.endswith('count'):
      group = name.split('/')[0] if isinstance(opt_state, dict) else ''
      counts.setdefault(group, set()).add(int(np.max(x)))
  return counts


@pytest.mark.slow
@pytest.mark.parametrize('name', list(CASES))
def test_resume_is_bit_for_bit(name, data_dir, tmp_path):
  _, _, num_steps, stop, per_step = CASES[name]
  config = make_config(name, data_dir)
  full = loop.train_and_evaluate(config, tmp_path / 'full', progress=False)
  part = loop.train_and_evaluate(make_config(name, data_dir), tmp_path / 'cut', stop_after=stop,
                                 progress=False)
  assert part['preempted'] and part['step'] == stop
  resumed = loop.train_and_evaluate(make_config(name, data_dir), tmp_path / 'cut',
                                    progress=False)
  assert not resumed['preempted'] and resumed['step'] == num_steps

  if name == 'fsdp_and_sharding_rules':   # the placement this case is about is really in force
    specs = {path_str(p): x.sharding.spec for p, x in
             jax.tree_util.tree_leaves_with_path(resumed['state'].params)}
    assert specs['Dense_0/kernel'] == jax.sharding.PartitionSpec(None, 'model')
    assert specs['Conv_0/kernel'] == jax.sharding.PartitionSpec(None, None, None, 'data')

  a, b = leaves(full['state']), leaves(resumed['state'])
  assert [p for p, _ in a] == [p for p, _ in b]
  different = [p for (p, x), (_, y) in zip(a, b) if not np.array_equal(x, y)]
  assert not different, f'{len(different)} of {len(a)} leaves differ, e.g. {different[:5]}'

  full_rows, cut_rows = rows(tmp_path / 'full'), rows(tmp_path / 'cut')
  assert [r for r in cut_rows if r['split'] == 'train'] == [
      r for r in full_rows if r['split'] == 'train']
  assert [r['step'] for r in full_rows if r['split'] == 'train'] == list(range(1, num_steps + 1))
  assert [r for r in cut_rows if r['split'] == 'eval'] == [
      r for r in full_rows if r['split'] == 'eval']
  assert full['eval'] == resumed['eval']

  # Every optimizer took every update it was given (a lost second optimizer state stays at 0 in
  # both runs and would pass the comparison above).
  expected = {group: {n * num_steps} for group, n in per_step.items()}
  if name == 'rbf_running_sums':   # the optimizer is used in the fine-tuning steps only
    expected = {'': {per_step['']}}
  assert update_counts(full['state'].opt_state) == expected


@pytest.mark.slow
def test_dropout_masks_follow_the_step(data_dir):
  """Dropout draws a new mask every step (the key is the run's key folded with the step) and the
  same mask for the same step, which is what makes a resumed run draw what the uninterrupted one
  drew: the same state and batch at step 0 and at step 1 give different losses, and step 0 again
  gives step 0's loss exactly."""
  from train import data
  from train import sharding as sharding_lib
  c = make_config('classification_dropout_bn_warmup_cosine_evals', data_dir)
  batch = data.make_pipeline(c).train_batch(0)
  run = loop.build(c, sharding_lib.make_mesh(c.mesh), batch)
  state = jax.jit(run.objective.init_state)(run.rng, batch)
  step = jax.jit(run.objective.train_step)
  loss = [float(step(state.replace(step=jnp.int32(s)), batch)[1]['loss']) for s in (0, 1, 0)]
  assert loss[0] == loss[2] and loss[0] != loss[1], loss
