"""The full-scale capsule-study configs (real TFDS names, mocked here) take one training step.

The fast test traces one train and one eval step to shapes (no compile); the slow ones run a real
step of the 8.2M-parameter CapsNet and the 35.4M-parameter baseline on 8 fake CPU devices.
"""

import math

import jax
import jax.numpy as jnp
import pytest
import tensorflow_datasets as tfds

from tests import overrides as overrides_lib
from tests import mock_step
from train import config as config_lib
from train import data
from train import loop
from train import sharding as sharding_lib

FULL = ['experiments/capsnet/capsnet_digits.py:full', 'experiments/capsnet/smallnorb.py:full',
        'experiments/capsnet/baseline_cnn_digits.py:full']


def _load(spec, **overrides):
  c = config_lib.load(spec)
  with c.unlocked():
    c.num_steps = 1
    c.eval_every = c.ckpt_every = 0
    c.plots = False
    c.data.batch_size = c.data.eval_batch_size = 8
  return overrides_lib.set_keys(c, **overrides)


@pytest.mark.parametrize('spec', FULL)
def test_full_config_step_has_the_right_shapes(spec):
  run, _, state, metrics, sums = mock_step.traced_step(_load(spec))
  assert jax.tree.map(lambda a: a.shape, state.params) == \
      jax.tree.map(lambda a: a.shape, run.abstract_state.params)
  assert metrics['loss'].shape == () and metrics['accuracy'].shape == ()
  assert sums['count'].shape == ()


STEPS = 4


@pytest.mark.slow
@pytest.mark.parametrize('spec,params', [(FULL[0], 8_215_568), (FULL[2], 35_445_522)])
def test_full_config_learns_a_batch(spec, params):
  """The full-size network on one fixed batch of 8 (eval mode: no dropout, no noise):

  - the parameter count is the paper's;
  - the loss's gradient is the loss's: along the gradient's own direction u, the central
    difference (L(p + eps u) - L(p - eps u)) / 2 eps equals |grad| within 5% (a term whose
    gradient is cut, e.g. a stop_gradient in the margin loss, leaves the difference and not the
    gradient: measured to fail);
  - four real train steps: every loss finite, the batch's loss at least 5% lower after (measured:
    CapsNet 6.64 -> 5.51, baseline 19.0 -> 13.4), and a whole number of the 8 examples right."""
  # im2col on CPU: XLA:CPU's gradient of the 9x9 stride-2 convolution takes tens of seconds.
  c = _load(spec, num_steps=4, **({'model.im2col': True} if 'capsnet' in spec else {}))
  mesh = sharding_lib.make_mesh(c.mesh)
  with tfds.testing.mock_data(num_examples=8):
    pipeline = data.make_pipeline(c)
    batch = data.global_batch(pipeline.train_batch(0), sharding_lib.batch_sharding(mesh))
  run = loop.build(c, mesh, batch)
  assert sum(p.size for p in jax.tree.leaves(run.abstract_state.params)) == params
  state = run.init(batch)
  seen = dict(batch, mask=jnp.ones(batch['label'].shape, bool))   # the train batch, evaluated

  @jax.jit
  def loss(p, state):   # state an argument, not a closed-over constant of 8-35M floats
    return run.objective.eval_step(state.replace(params=p), seen)['loss']
  before, grad = jax.jit(jax.value_and_grad(loss))(state.params, state)
  norm = jnp.sqrt(sum(jnp.vdot(g, g) for g in jax.tree.leaves(grad)))
  # eps moves the loss by ~1% of itself: float32 rounding of L (~1e-7 L) is then 1e-5 of the
  # difference, and the central difference's curvature error is second order in eps.
  eps = 0.01 * before / norm
  moved = [jax.tree.map(lambda p, g, s=s: p + s * eps * g / norm, state.params, grad)
           for s in (1, -1)]
  slope = (loss(moved[0], state) - loss(moved[1], state)) / (2 * eps)
  assert abs(slope - norm) <= 0.05 * norm, (float(slope), float(norm))

  step = run.compiled_train_step(state, batch)
  losses = []
  for _ in range(c.num_steps):
    state, metrics = step(state, batch)
    losses.append(float(metrics['loss']))
  assert all(math.isfinite(l) for l in losses), losses
  after = jax.device_get(run.objective.eval_step(state, seen))
  assert after['loss'] < 0.95 * before, (float(before), after['loss'])
  assert int(after['count']) == 8
  right = float(after['accuracy'])   # a sum over the batch: a whole number of examples
  assert 0 <= right <= 8 and right == round(right), after['accuracy']
