"""models/pooling.py: max pooling over tiling windows as a reshape is flax's max pooling bit for bit
(outputs and gradients, ties included), and the CNNs' steps use it (no select-and-scatter)."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import models
from models import pooling


def _tied(shape, dtype, seed=0):
  """Values with many ties within windows: zeros (as after a ReLU over background) and small
  integers."""
  x = jax.random.normal(jax.random.PRNGKey(seed), shape)
  return jnp.where(x > 0.3, jnp.round(2 * x), 0.).astype(dtype)


def test_tiled_max_pooling_is_flax_max_pooling_bit_for_bit():
  ours, theirs = pooling.max_pool, nn.max_pool
  for shape, dtype in [((2, 28, 28, 4), jnp.float32), ((3, 7, 7, 5), jnp.float32),
                       ((2, 9, 6, 3), jnp.bfloat16)]:
    x = _tied(shape, dtype)
    up = jax.random.normal(jax.random.PRNGKey(1), (shape[0], shape[1] // 2, shape[2] // 2,
                                                   shape[3]))

    @jax.jit
    def both(x):
      outs = [pool(x, (2, 2), (2, 2)) for pool in (ours, theirs)]
      grads = [jax.grad(lambda x: jnp.sum(pool(x, (2, 2), (2, 2)).astype(jnp.float32) * up))(x)
               for pool in (ours, theirs)]
      return outs, grads

    (a, b), (ga, gb) = both(x)
    np.testing.assert_array_equal(a, b, err_msg=f'{shape} {dtype}')
    np.testing.assert_array_equal(ga, gb, err_msg=f'{shape} {dtype}')


def test_max_gradient_goes_to_the_first_maximum_of_a_window():
  x = jnp.array([[0., 2.], [2., 1.]]).reshape(1, 2, 2, 1)
  g = jax.grad(lambda x: jnp.sum(pooling.max_pool(x, (2, 2))))(x)
  np.testing.assert_array_equal(g.reshape(2, 2), [[0., 1.], [0., 0.]])


@pytest.mark.parametrize('window,strides,padding', [((3, 3), (2, 2), 'VALID'),
                                                    ((2, 2), (2, 2), 'SAME'),
                                                    ((3, 3), (1, 1), ((1, 1), (1, 1)))])
def test_other_windows_fall_back_to_flax(window, strides, padding):
  x = _tied((2, 9, 9, 3), jnp.float32)
  np.testing.assert_array_equal(pooling.max_pool(x, window, strides, padding),
                                nn.max_pool(x, window, strides, padding))


def test_cnn_steps_pool_without_select_and_scatter():
  """The max-pooling CNNs' gradients carry no reduce-window or select-and-scatter (the slow
  loops)."""
  import ml_collections
  x = jax.ShapeDtypeStruct((2, 28, 28, 1), jnp.float32)
  for variant in ('fashion2conv', 'lenet5'):
    model = models.build(ml_collections.ConfigDict({'name': 'cnn', 'variant': variant}))
    params = jax.eval_shape(model.init, jax.random.PRNGKey(0), x)
    hlo = jax.jit(jax.grad(lambda p, x: jnp.sum(model.apply(p, x)))).lower(params, x).as_text()
    assert 'select_and_scatter' not in hlo and 'reduce_window' not in hlo, variant
