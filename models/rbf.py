"""Radial basis function network: Gaussian units around centres, then a linear read-out.

Broomhead & Lowe 1988 ("Multivariable functional interpolation and adaptive networks", Complex
Systems 2:321); Moody & Darken 1989 ("Fast learning in networks of locally-tuned processing units",
Neural Computation 1:281): centres by k-means, widths from the distances to the nearest centres,
output weights by linear least squares. The module computes; the `rbf` objective fits it.

  phi_k(x) = exp(-|x - c_k|^2 / (2 s_k^2)),   y = phi(x) W + b   (s_k = exp(log_width_k))

Float32 only (`config.model.dtype='bfloat16'` is refused in one line): the distances are a
difference of nearly equal squares that bf16 rounding swamps, exp() turns their error into
relative error of phi, and the read-out is fit by linear least squares on phi, whose normal
equations would lose to bf16 what float32 already strains to keep. Measured: with only the inputs
of the distances' matmul x.c rounded to bf16 (float32 accumulation, everything else float32, as
models/som.py does), experiments/rbf/mackey_glass_6.py:tiny's loss after the least-squares fit
rose from 0.0015 to 0.013 (step 4 of 50) and stayed 20-170% above the float32 curve.
"""

import flax.linen as nn
import jax.numpy as jnp


class GaussianUnits(nn.Module):
  """phi(x): [B, num_centres]; params 'centres' [num_centres, D] and 'log_width' [num_centres]."""
  num_centres: int
  normalized: bool

  @nn.compact
  def __call__(self, x, distances: bool = False):
    """phi(x), or (phi(x), the squared distances [B, num_centres]) with `distances`."""
    x = x.reshape(x.shape[0], -1).astype(jnp.float32)
    centres = self.param('centres', nn.initializers.normal(1.0), (self.num_centres, x.shape[-1]))
    log_width = self.param('log_width', nn.initializers.zeros, (self.num_centres,))
    d2 = jnp.maximum(jnp.sum(x * x, -1, keepdims=True) - 2 * x @ centres.T
                     + jnp.sum(centres * centres, -1)[None, :], 0.0)
    phi = jnp.exp(-d2 / (2 * jnp.exp(2 * log_width)))
    if self.normalized:
      phi = phi / (phi.sum(-1, keepdims=True) + 1e-12)
    return (phi, d2) if distances else phi


class RBF(nn.Module):
  FLOAT32_ONLY = ('its Gaussian units and least-squares read-out need float32; see models/rbf.py')
  num_centres: int = 100
  num_outputs: int = 1
  normalized: bool = False      # divide phi by its sum (Moody & Darken's normalized units)

  def setup(self):
    self.units = GaussianUnits(self.num_centres, self.normalized)
    self.readout = nn.Dense(self.num_outputs, kernel_init=nn.initializers.zeros)

  def features(self, x):
    return self.units(x)

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
