"""Members (config.vmap): N copies of any model in one vmapped step, member i training as the run
with seed i (and learning rate i) does; one metrics row per member; resumed bit for bit."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import models
from tests.overrides import set_keys
from tests.test_engine import params_equal, tiny
from train import config as config_lib
from train import evaluate
from train import loop
from train import members
from train import metrics as metrics_lib
from train import objectives
from train import optimizer as optimizer_lib
from train import sharding as sharding_lib
from train.errors import UserError




def _losses(workdir, member=None):
  return [r['loss'] for r in metrics_lib.read(workdir)
          if r['split'] == 'train' and r.get('member') == member]


def _assert_members_equal_their_runs(config, tmp_path, rtol=1e-4, params_tol=1e-2):
  """Trains `config` (with config.vmap) and each member's own run; compares losses, parameters
  and the final evaluation. (Vmapped kernels sum in another order; over 50 Adam steps a weight
  whose gradient is near zero moves by rounding more than the loss does: each parameter tensor
  is compared as a whole, the norm of the difference within params_tol of its norm.)"""
  together = loop.train_and_evaluate(config, tmp_path / 'members', progress=False)
  n = members.count(config)
  assert together['members'] == members.specs(config)
  for i in range(n):
    alone = loop.train_and_evaluate(members.member_config(config, i), tmp_path / f'run{i}',
                                    progress=False)
    np.testing.assert_allclose(_losses(tmp_path / 'members', i), _losses(tmp_path / f'run{i}'),
                               rtol=rtol, err_msg=f'member {i}')
    mine = jax.tree.map(lambda x, i=i: np.asarray(x[i]), together['state'].params)
    for a, b in zip(jax.tree.leaves(mine), jax.tree.leaves(jax.device_get(alone['state'].params))):
      assert np.linalg.norm(a - b) <= params_tol * np.linalg.norm(b) + 1e-6, (i, a.shape)
    for k, v in alone['eval'].items():
      np.testing.assert_allclose(together['eval'][k][i], v, rtol=rtol, atol=5e-3, err_msg=k)
  # The members differ from each other (own init, dropout and data order).
  assert len({round(x, 6) for x in together['eval']['loss']}) == n
  return together


@pytest.mark.slow   # four compilations: ~8 s of CPU
def test_member_steps_equal_each_seeds_own_steps():
  """Two members of a tiny MLP, two steps, vmapped: each equals the single run's state (own
  PRNGKey(seed) init, own batch). (Learning rates per member: the 50-step tests below.)"""
  config = set_keys(config_lib.base_config(), **{
      'model.name': 'mlp', 'model.variant': 'tiny', 'optimizer.learning_rate': 0.01,
      'vmap.seeds': (0, 1)})
  config_lib.validate(config)
  rng = np.random.default_rng(0)
  batches = [{'image': jnp.asarray(rng.random((2, 8, 8, 8, 1), np.float32)),
              'label': jnp.asarray(rng.integers(0, 10, (2, 8)))} for _ in range(2)]
  tx, _ = optimizer_lib.make_optimizer(config.optimizer, 10)
  objective = objectives.build(config, models.build(config.model), tx)
  wrapped = members.Members(objective, members.specs(config), config.optimizer.learning_rate)
  state = jax.jit(wrapped.init_state)(None, batches[0])
  step = jax.jit(wrapped.train_step)
  for b in batches:
    state, metrics = step(state, b)
  assert state.step.shape == () and metrics['loss'].shape == (2,)
  init, step = jax.jit(objective.init_state), jax.jit(objective.train_step)
  for i in (0, 1):
    alone = init(jax.random.PRNGKey(i), {k: v[i] for k, v in batches[0].items()})
    for b in batches:
      alone, _ = step(alone, {k: v[i] for k, v in b.items()})
    jax.tree.map(lambda a, b, i=i: np.testing.assert_allclose(a[i], b, rtol=1e-5, atol=1e-6),
                 state.params, alone.params)


# --- fast checks --------------------------------------------------------------------------------

def test_member_axis_takes_what_the_devices_and_members_share():
  mesh = config_lib.base_config().mesh
  assert sharding_lib.make_mesh(mesh, members=4).shape == {'data': 2, 'model': 1, 'member': 4}
  assert sharding_lib.make_mesh(mesh, members=3).shape == {'data': 8, 'model': 1, 'member': 1}
  four = sharding_lib.make_mesh(mesh, members=2)
  assert sharding_lib.batch_sharding(four).spec == jax.sharding.PartitionSpec('member', ('data',))
  abstract = {'w': jax.ShapeDtypeStruct((2, 16, 4), jnp.float32),
              'step': jax.ShapeDtypeStruct((), jnp.int32)}
  placed = sharding_lib.state_shardings(abstract, four, config_lib.base_config().sharding)
  assert placed['w'].spec == jax.sharding.PartitionSpec('member')
  assert placed['step'].spec == jax.sharding.PartitionSpec()


@pytest.mark.parametrize('overrides, message', [
    ({'vmap.seeds': (0, -1)}, 'must be a tuple of seeds'),
    ({'vmap.seeds': (0, 1, 2), 'vmap.learning_rates': (0.1, 0.2)}, 'one per member'),
    ({'vmap.learning_rates': (0.1, 0.0)}, 'positive numbers'),
    ({'vmap.learning_rates': (0.1, 0.2), 'optimizer.learning_rate': 0.0}, 'must then be positive'),
])
def test_bad_member_settings_are_one_line_errors(overrides, message):
  with pytest.raises(UserError, match=message):
    config_lib.validate(set_keys(tiny(''), **overrides))


# --- runs of 50 steps (slow) ----------------------------------------------------------------------

@pytest.mark.slow
def test_classifier_members_equal_their_own_runs(data_dir, tmp_path):
  """A CNN with dropout, three seeds, two learning rates; its rows, events and evaluation."""
  config = tiny(data_dir, num_steps=50, eval_every=25, ckpt_every=0, log_every=5, plots=True,
                **{'model.dropout': 0.3, 'vmap.seeds': (0, 1, 2),
                   'vmap.learning_rates': (0.01, 0.01, 0.02)})
  together = _assert_members_equal_their_runs(config, tmp_path)
  rows = metrics_lib.read(tmp_path / 'members')
  for split, steps in (('train', range(5, 51, 5)), ('eval', (25, 50))):
    for step in steps:
      assert sorted(r['member'] for r in rows if r['split'] == split and r['step'] == step) == [
          0, 1, 2], (split, step)
  assert [r['lr'] for r in rows if r['step'] == 5 and r['split'] == 'train'] == [0.01, 0.01, 0.02]
  for i in range(3):
    assert any((tmp_path / 'members' / 'tensorboard' / f'member{i}').iterdir())
  assert (tmp_path / 'members' / 'plots' / 'learning_curves.png').exists()
  summary = json.loads((tmp_path / 'members' / 'summary.json').read_text())
  assert summary['eval'] == together['eval'] and len(summary['eval']['accuracy']) == 3
  record = evaluate.evaluate(tmp_path / 'members')
  assert record['members'] == summary['members']
  np.testing.assert_allclose(record['eval']['accuracy'], summary['eval']['accuracy'])


@pytest.mark.slow
def test_autoencoder_members_equal_their_own_runs(data_dir, tmp_path):
  del data_dir
  config = config_lib.load('experiments/autoencoder/ae_vs_pca.py:tiny')
  set_keys(config, num_steps=50, log_every=5, eval_every=0, ckpt_every=0, plots=False,
           **{'optimizer.learning_rate': 0.01, 'vmap.seeds': (0, 1)})
  _assert_members_equal_their_runs(config, tmp_path)


@pytest.mark.slow
def test_lstm_members_equal_their_own_runs(data_dir, tmp_path):
  del data_dir
  config = config_lib.load('experiments/sequence/lstm_adding.py:tiny')
  set_keys(config, num_steps=50, log_every=5, eval_every=0, ckpt_every=0, plots=False,
           **{'model.hidden': 16, 'optimizer.learning_rate': 0.01, 'vmap.seeds': (0, 1)})
  _assert_members_equal_their_runs(config, tmp_path)


@pytest.mark.slow
def test_resumed_member_run_equals_uninterrupted_bit_for_bit(data_dir, tmp_path):
  config = tiny(data_dir, num_steps=30, ckpt_every=10, eval_every=0,
                **{'model.dropout': 0.3, 'vmap.seeds': (0, 1),
                   'vmap.learning_rates': (0.01, 0.02)})
  full = loop.train_and_evaluate(config, tmp_path / 'full', progress=False)
  cut = loop.train_and_evaluate(config, tmp_path / 'cut', stop_after=15, progress=False)
  assert cut['preempted'] and cut['step'] == 15
  resumed = loop.train_and_evaluate(config, tmp_path / 'cut', progress=False)
  for i in (0, 1):
    assert _losses(tmp_path / 'full', i) == _losses(tmp_path / 'cut', i)   # exact floats
  assert params_equal(full['state'].params, resumed['state'].params)
  assert params_equal(full['state'].opt_state, resumed['state'].opt_state)
  assert full['eval'] == resumed['eval']
