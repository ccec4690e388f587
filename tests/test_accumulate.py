"""Gradient accumulation (config.optimizer.accumulate_steps, train/accumulate.py): one accumulated
step is one step on the whole batch; it needs less memory; batch norm sees micro-batches; objectives
whose step is not one gradient then one update refuse it in one line."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import models
from train import accumulate
from train import config as config_lib
from train import loop
from train import objectives
from train import optimizer as optimizer_lib
from train import sharding as sharding_lib
from train.errors import UserError


def _config(k=1, batch_size=64, **model):
  c = config_lib.load('experiments/zoo/cnn_digits.py:tiny')
  with c.unlocked():
    c.data.batch_size = batch_size
    c.optimizer.name = 'sgd'
    c.optimizer.learning_rate = 0.5
    c.optimizer.schedule = 'constant'
    c.optimizer.accumulate_steps = k
    if model.get('name', 'cnn') != 'cnn':
      c.model = config_lib.ml_collections.ConfigDict({'num_classes': 10})
    c.model.update(model)
  config_lib.validate(c)
  return c


def _batch(b, seed=0):
  rng = np.random.default_rng(seed)
  return {'image': rng.uniform(size=(b, 8, 8, 1)).astype(np.float32),
          'label': rng.integers(0, 10, size=(b,)).astype(np.int32)}


def _objective(config):
  model = models.build(config.model)
  tx, _ = optimizer_lib.make_optimizer(config.optimizer, config.num_steps)
  return objectives.build(config, model, tx)


def _steps(configs, batch):
  """(state before, [(state after, metrics) per config]): one train step from the same initial
  state under each config, on one device, compiled as one program (one compile, not several)."""
  steppers = [_objective(c) for c in configs]
  state = jax.jit(steppers[0].init_state)(jax.random.PRNGKey(0), batch)
  before = jax.device_get(state)
  outs = jax.jit(lambda s, b: [o.train_step(s, b) for o in steppers])(state, batch)
  return before, jax.device_get(outs)


def _one_step(config, batch):
  before, [(after, metrics)] = _steps([config], batch)
  return before, after, metrics


MLP = {'name': 'mlp', 'variant': 'tiny'}


def test_split_takes_every_kth_example():
  parts = accumulate.split({'x': jnp.arange(12)}, 3)['x']
  np.testing.assert_array_equal(parts, [[0, 3, 6, 9], [1, 4, 7, 10], [2, 5, 8, 11]])


def test_one_accumulated_step_equals_one_step_on_the_whole_batch():
  batch = _batch(64)
  p0, [(whole, m1), (acc, m4)] = _steps([_config(k=1, **MLP), _config(k=4, **MLP)], batch)
  assert int(acc.step) == int(whole.step) == 1   # one optimizer step either way
  for a, w, b in zip(jax.tree.leaves(acc.params), jax.tree.leaves(whole.params),
                     jax.tree.leaves(p0.params)):
    assert not np.allclose(w, b)   # the step moved the parameters
    np.testing.assert_allclose(a, w, rtol=1e-6, atol=1e-6 * np.abs(w).max())
  np.testing.assert_allclose(m4['loss'], m1['loss'], rtol=1e-6)
  np.testing.assert_allclose(m4['accuracy'], m1['accuracy'], rtol=1e-6)
  np.testing.assert_allclose(m4['grad_norm'], m1['grad_norm'], rtol=1e-5)


@pytest.mark.slow
def test_batch_norm_statistics_see_each_micro_batch_in_turn():
  """With batch norm, the running averages are updated once per micro-batch, in order: the state
  after one accumulated step (K=2) holds the statistics of two updates, micro-batch 0 then 1."""
  config = _config(k=2, batch_size=16, batch_norm=True)
  batch = _batch(16, seed=1)
  before, after, _ = _one_step(config, batch)
  model = models.build(config.model)
  stats = before.model_state
  for part in (0, 1):
    x = batch['image'][part::2]
    _, updated = model.apply({'params': before.params, **stats}, x, train=True,
                             mutable=['batch_stats'])
    stats = jax.device_get(updated)
  for a, b in zip(jax.tree.leaves(after.model_state), jax.tree.leaves(stats)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('objective', ['gan', 'darts'])
def test_objectives_with_their_own_step_refuse_accumulation(objective):
  c = _config(k=2)
  with c.unlocked():
    c.objective = objective
  tx, _ = optimizer_lib.make_optimizer(c.optimizer, c.num_steps)
  with pytest.raises(UserError, match=f'objective {objective} does not accumulate gradients'):
    objectives.build(c, None, tx)


def test_accumulate_steps_must_divide_the_batch():
  c = _config()
  with c.unlocked():
    c.optimizer.accumulate_steps = 3
  with pytest.raises(UserError, match='accumulate_steps=3 must be a positive divisor'):
    config_lib.validate(c)


@pytest.mark.slow
def test_compiled_step_needs_less_memory_with_more_micro_batches():
  batch = _batch(1024)
  temps = {}
  for k in (1, 8):
    config = _config(k=k, batch_size=1024)
    mesh = sharding_lib.make_mesh(config.mesh)
    b = jax.device_put(batch, sharding_lib.batch_sharding(mesh))
    run = loop.build(config, mesh, b)
    state = run.init(b)
    temps[k] = run.compiled_train_step(state, b).memory_analysis().temp_size_in_bytes
  assert temps[8] < 0.5 * temps[1], temps
