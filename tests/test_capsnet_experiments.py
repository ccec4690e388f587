"""The full-scale capsule-study configs (real TFDS names, mocked here) take one training step.

The fast test traces one train and one eval step to shapes (no compile); the slow ones run a real
step of the 8.2M-parameter CapsNet and the 35.4M-parameter baseline on 8 fake CPU devices.
"""

import jax
import pytest
import tensorflow_datasets as tfds

from tests import overrides as overrides_lib
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
  c = _load(spec)
  mesh = sharding_lib.make_mesh(c.mesh)
  with tfds.testing.mock_data(num_examples=16):
    pipeline = data.make_pipeline(c)
    batch = data.global_batch(pipeline.train_batch(0), sharding_lib.batch_sharding(mesh))
    eval_batch = next(pipeline.eval_batches())
  run = loop.build(c, mesh, batch)
  state, metrics = jax.eval_shape(run.objective.train_step, run.abstract_state, batch)
  assert jax.tree.map(lambda a: a.shape, state.params) == \
      jax.tree.map(lambda a: a.shape, run.abstract_state.params)
  assert metrics['loss'].shape == () and metrics['accuracy'].shape == ()
  sums = jax.eval_shape(run.objective.eval_step, run.abstract_state, eval_batch)
  assert sums['count'].shape == ()


@pytest.mark.slow
@pytest.mark.parametrize('spec,params', [(FULL[0], 8_215_568), (FULL[2], 35_445_522)])
def test_full_config_takes_a_step(spec, params, tmp_path):
  # im2col on CPU: XLA:CPU's gradient of the 9x9 stride-2 convolution takes tens of seconds.
  c = _load(spec, **({'model.im2col': True} if 'capsnet' in spec else {}))
  with tfds.testing.mock_data(num_examples=16):
    s = loop.train_and_evaluate(c, tmp_path, progress=False)
  assert s['step'] == 1 and s['num_params'] == params
  assert 0.0 <= s['eval']['accuracy'] <= 1.0
