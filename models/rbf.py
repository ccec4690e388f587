"""Radial basis function network: Gaussian units around centres, then a linear read-out.

Broomhead & Lowe 1988 ("Multivariable functional interpolation and adaptive networks", Complex
Systems 2:321); Moody & Darken 1989 ("Fast learning in networks of locally-tuned processing units",
Neural Computation 1:281): centres by k-means, widths from the distances to the nearest centres,
output weights by linear least squares. The module computes; the `rbf` objective fits it.

  phi_k(x) = exp(-|x - c_k|^2 / (2 s_k^2)),   y = phi(x) W + b   (s_k = exp(log_width_k))

`dtype='bfloat16'` takes the one matmul of the distances, x.c, from bf16 operands with float32 sums
(nearly all the FLOPs for image inputs: 784 multiply-adds per pair on Fashion-MNIST), after moving
the origin to the centres' mean: |x - c|^2 is the same from any origin, and bf16's rounding error
in x.c scales with |x| |c|, so measuring from among the centres shrinks it. The norms, the
difference |x|^2 - 2 x.c + |c|^2, exp() and the read-out stay float32 (as do the `rbf`
objective's k-means and widths, which take their own distances), and `features` (the
least-squares fit's phi) is float32 whatever `dtype`: the fitted weights are large and cancel, so
bf16 anywhere in phi shows in the outputs. Measured (50 steps through the engine: k-means, the
fit, then fine-tuning), the largest deviation from the float32 run's loss: an 8x8-digits
classifier (32 units, batch 64) 0.2% (seeds 0-2), and 0.8% without the shifted origin, 2.8% with
the read-out's operands in bf16 too. Regression does not keep 2%:
experiments/rbf/mackey_glass_6.py:tiny leaves float32 by 10% (500% without the shifted origin,
20% with only the read-out in bf16), and experiments/rbf/mackey_glass_6.py's test NDEI goes from
0.022 to 0.026 (test MSE 2e-5 to 4e-5). Regression wants float32.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp


def cross(x, c, dtype):
  """x @ c.T: [B, D] x [K, D] -> [B, K], the operands in `dtype`, summed in float32."""
  return jnp.einsum('bd,kd->bk', x.astype(dtype), c.astype(dtype),
                    preferred_element_type=jnp.float32)


class GaussianUnits(nn.Module):
  """phi(x): [B, num_centres]; params 'centres' [num_centres, D] and 'log_width' [num_centres]."""
  num_centres: int
  normalized: bool
  dtype: str = 'float32'        # of the x.c operands (see above); the rest is float32

  @nn.compact
  def __call__(self, x, distances: bool = False, dtype: str | None = None):
    """phi(x), or (phi(x), the squared distances [B, num_centres]) with `distances`; `dtype`
    overrides the module's for this call."""
    dtype = dtype or self.dtype
    x = x.reshape(x.shape[0], -1).astype(jnp.float32)
    centres = self.param('centres', nn.initializers.normal(1.0), (self.num_centres, x.shape[-1]))
    log_width = self.param('log_width', nn.initializers.zeros, (self.num_centres,))
    if dtype == 'float32':
      xc = x @ centres.T
    else:   # the origin at the centres' mean (any fixed point gives the same distances)
      origin = jax.lax.stop_gradient(centres.mean(0))
      x, centres = x - origin, centres - origin
      xc = cross(x, centres, dtype)
    d2 = jnp.maximum(jnp.sum(x * x, -1, keepdims=True) - 2 * xc
                     + jnp.sum(centres * centres, -1)[None, :], 0.0)
    phi = jnp.exp(-d2 / (2 * jnp.exp(2 * log_width)))
    if self.normalized:
      phi = phi / (phi.sum(-1, keepdims=True) + 1e-12)
    return (phi, d2) if distances else phi


class RBF(nn.Module):
  num_centres: int = 100
  num_outputs: int = 1
  normalized: bool = False      # divide phi by its sum (Moody & Darken's normalized units)
  dtype: str = 'float32'        # of the distances' x.c operands (see above); the rest float32

  def setup(self):
    self.units = GaussianUnits(self.num_centres, self.normalized, self.dtype)
    self.readout = nn.Dense(self.num_outputs, kernel_init=nn.initializers.zeros)

  def features(self, x):
    """phi(x) for the least-squares fit: float32 whatever `dtype` (see above)."""
    return self.units(x, dtype='float32')

  def outputs_and_distances(self, x):
    """(outputs, squared distances of x to the centres): both from one distance computation."""
    phi, d2 = self.units(x, distances=True)
    return self.readout(phi), d2

  def __call__(self, x, train: bool = False):
    del train
    return self.readout(self.units(x))


VARIANTS = {
    'tiny': (RBF, dict(num_centres=8)),
    # Moody & Darken 1989 used 10 to 1000+ units on Mackey-Glass; nnzoo's claims use these two.
    'mg100': (RBF, dict(num_centres=100)),
    'mg200': (RBF, dict(num_centres=200)),
    # Fashion-MNIST as a classifier: 10 outputs fitted to one-hot targets.
    'fashion': (RBF, dict(num_centres=2000, num_outputs=10)),
}
