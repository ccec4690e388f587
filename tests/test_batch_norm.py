"""models.batch_norm.BatchNorm computes flax.linen.BatchNorm's function: same variables, outputs,
input and parameter gradients and running statistics, in train and eval mode, to float32
rounding (the means are summed in another order)."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models import batch_norm

# Both sum ~4k float32 values per channel in a different order: relative differences of a few
# float32 ulps per term, 1e-5 leaves two orders of margin; measured max here ~1e-6.
RTOL, ATOL = 1e-5, 1e-5


@pytest.mark.parametrize('train', [True, False])
def test_same_function_gradients_and_statistics_as_flax(train):
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.normal(2.0, 3.0, (16, 9, 9, 5)), jnp.float32)
  ours = batch_norm.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5)
  theirs = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5)
  variables = theirs.init(jax.random.PRNGKey(0), x)
  assert jax.tree.structure(ours.init(jax.random.PRNGKey(0), x)) == jax.tree.structure(variables)
  # Non-trivial parameters and running statistics, so every term of the function matters.
  variables = {'params': {'scale': jnp.asarray(rng.uniform(0.5, 2, 5), jnp.float32),
                          'bias': jnp.asarray(rng.normal(size=5), jnp.float32)},
               'batch_stats': {'mean': jnp.asarray(rng.normal(size=5), jnp.float32),
                               'var': jnp.asarray(rng.uniform(0.5, 2, 5), jnp.float32)}}
  weights = jnp.asarray(rng.normal(size=x.shape), jnp.float32)

  def run(module):
    def loss(params, x):
      y, new = module.apply({**variables, 'params': params}, x, mutable=['batch_stats'])
      return (y * weights).sum(), (y, new['batch_stats'])
    (_, (y, stats)), grads = jax.jit(jax.value_and_grad(loss, (0, 1), has_aux=True))(
        variables['params'], x)
    return y, stats, grads

  for a, b in zip(jax.tree.leaves(run(ours)), jax.tree.leaves(run(theirs))):
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


def test_statistics_are_float32_for_bfloat16_activations():
  x = jnp.asarray(np.random.default_rng(1).normal(100.0, 1.0, (64, 4)), jnp.bfloat16)
  mean, var = batch_norm.batch_moments(x)
  assert mean.dtype == var.dtype == jnp.float32
  np.testing.assert_allclose(var, np.var(np.asarray(x, np.float32), axis=0), rtol=1e-2)
