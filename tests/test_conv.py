"""im2col convolution: the same numbers and gradients as XLA's (and nn.Conv's) convolution."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models import cnn
from models import conv


@pytest.mark.parametrize('kernel,stride,padding,shape', [
    (3, 1, 'VALID', (2, 8, 8, 3)), (9, 2, 'VALID', (2, 21, 21, 4)), (4, 3, 'VALID', (1, 11, 10, 2)),
    (3, 1, 'SAME', (2, 7, 7, 3)), (4, 2, 'SAME', (1, 9, 10, 2)), (5, 1, 'SAME', (2, 6, 6, 1))])
@pytest.mark.slow  # 10-30 s: in CI (.ci/run), out of the 10-minute default run
def test_im2col_conv_equals_nn_conv_in_values_and_gradients(kernel, stride, padding, shape):
  x = jax.random.normal(jax.random.PRNGKey(3), shape)
  ours = conv.Conv(6, kernel, stride, padding, im2col=True)
  ref = nn.Conv(6, (kernel, kernel), (stride, stride), padding=padding)
  params = ours.init(jax.random.PRNGKey(4), x)
  assert (jax.tree.map(jnp.shape, params)
          == jax.tree.map(jnp.shape, ref.init(jax.random.PRNGKey(4), x)))
  params = jax.tree.map(lambda p: p + 0.1, params)    # nonzero bias too
  want = jax.jit(ref.apply)(params, x)
  np.testing.assert_allclose(jax.jit(ours.apply)(params, x), want, rtol=1e-4, atol=1e-4)
  plain = conv.Conv(6, kernel, stride, padding, im2col=False)
  np.testing.assert_allclose(jax.jit(plain.apply)(params, x), want, rtol=1e-4, atol=1e-4)

  def grads(module):
    return jax.jit(jax.grad(lambda p, x: jnp.sum(jnp.sin(module.apply(p, x))), argnums=(0, 1)))
  for a, b in zip(jax.tree.leaves(grads(ours)(params, x)), jax.tree.leaves(grads(ref)(params, x))):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.slow  # 10-30 s: in CI (.ci/run), out of the 10-minute default run
def test_cnn_im2col_lever_keeps_the_parameters_and_the_math():
  x = jax.random.uniform(jax.random.PRNGKey(0), (4, 28, 28, 1))
  fast = cnn.CNN(features=(8, 16), dense=(32,), im2col=True)
  slow = cnn.CNN(features=(8, 16), dense=(32,), im2col=False)
  params = fast.init(jax.random.PRNGKey(1), x)
  ref_params = nn.Conv(8, (3, 3)).init(jax.random.PRNGKey(1), x)   # nn.Conv's initializers
  assert sorted(params['params']) == ['Conv_0', 'Conv_1', 'Dense_0', 'Dense_1']
  assert params['params']['Conv_0']['kernel'].shape == ref_params['params']['kernel'].shape
  np.testing.assert_allclose(fast.apply(params, x), slow.apply(params, x), rtol=1e-4, atol=1e-5)
  loss = lambda m: lambda p: jnp.sum(jax.nn.log_softmax(m.apply(p, x))[:, 3])  # noqa: E731
  for a, b in zip(jax.tree.leaves(jax.grad(loss(fast))(params)),
                  jax.tree.leaves(jax.grad(loss(slow))(params))):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
