"""Matrix capsules with EM routing.

Hinton, Sabour & Frosst 2018, "Matrix capsules with EM routing" (ICLR), openreview HJWLfGWRb.

Each capsule is a 4x4 pose matrix M and an activation a. A child i votes for parent j with
V_ij = M_i W_ij (W_ij a learned 4x4 transform, shared over positions in convolutional layers); EM
routing fits one Gaussian per parent to the votes, weighted by the children's activations and the
assignment probabilities R_ij, and a parent's activation is high when its Gaussian is tight
(Procedure 1 of the paper). Layers: Conv (ReLU) -> PrimaryCaps (1x1: pose + sigmoid activation) ->
ConvCaps (KxK windows of capsules, EM routing per output position) -> ClassCaps (transforms shared
over positions, coordinate addition, EM routing) -> class activations.

Stabilised as later reimplementations do (Gritzman 2019, "Avoiding implementation pitfalls of
'matrix capsules with EM routing'"): the cost uses the mean log standard deviation over the 16
pose entries, and the parent's share of assignment mass is normalised to mean 1 over parents, so
the sigmoid's input does not scale with the number of children.

Returns {'activations': [B, classes], 'poses': [B, classes, 16]}; train with the `capsule`
objective and objective_args.loss='spread'.

`dtype='bfloat16'` takes the vote transforms V_ij = M_i W_ij of the ConvCaps and ClassCaps layers
(nearly all of the model's multiply-adds) from bf16 operands with float32 sums and float32 votes;
the convolution, the primary capsules and EM routing (the votes' means and variances, their logs,
the sigmoid and the softmax of log densities) stay float32. The loss curve, not the outputs, sets
this split: after the same init the tiny model's bf16 outputs are within 1.3e-2 of float32's (the
test's measure), but its parameter gradients through EM routing (logs of variances, the E-step
softmax) move by up to 7% with the convolution, primary capsules and votes in bf16, and by up to 1%
from only rounding the input images to bf16, and Adam carries the difference along. Measured on
experiments/capsnet/em_routing_digits.py:tiny, the largest step-wise deviation of 50 steps' loss
from the float32 run's, seeds 0-4: votes in bf16 0.8, 5.3, 1.2, 1.5, 1.5%; the convolution,
primary capsules and votes in bf16 0.6, 6.5, 1.9, 3.2, 3.4% (the same with activations stored in
bf16: 3.3, 7.3, 2.1, 3.3, 2.5%); only the convolution and primary capsules 2.7, 6.9, 1.7, 1.5,
1.4%. Seed 1's trajectory is as sensitive to any rounding: a float32 run on input images rounded
to bf16 leaves it by 5.9% (1.0, 0.6, 0.7, 0.2% on the other seeds).
"""

import math
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from models.conv import Conv

EPS = 1e-6


def em_route(votes, a_in, beta_v, beta_a, iterations: int, inverse_temperature: float = 1.0):
  """EM routing of votes [..., I, J, D] with child activations a_in [..., I].

  Returns (mu [..., J, D], a_out [..., J], R [..., I, J]). R starts uniform over parents j.
  """
  n_in, n_out, d = votes.shape[-3:]
  r = jnp.full(votes.shape[:-1], 1.0 / n_out, votes.dtype)
  a_in = a_in[..., None]
  for it in range(iterations):
    # M-step: Gaussian per parent from the votes, weighted by R * a.
    rw = r * a_in                                                   # [..., I, J]
    mass = rw.sum(-2, keepdims=True) + EPS                          # [..., 1, J]
    mu = jnp.einsum('...ij,...ijd->...jd', rw, votes) / jnp.swapaxes(mass, -1, -2)
    var = jnp.einsum('...ij,...ijd->...jd', rw, jnp.square(votes - mu[..., None, :, :]))
    var = var / jnp.swapaxes(mass, -1, -2) + EPS
    log_sigma = 0.5 * jnp.log(var)                                  # [..., J, D]
    share = mass[..., 0, :] * n_out / (a_in[..., 0].sum(-1, keepdims=True) + EPS)
    cost = (beta_v + log_sigma.mean(-1)) * share                    # [..., J]
    lam = inverse_temperature * (1.0 - 0.95 ** (it + 1))
    a_out = jax.nn.sigmoid(lam * (beta_a - cost))
    if it + 1 == iterations:
      return mu, a_out, r
    # E-step: assignment probabilities from the Gaussians' log densities and the activations.
    log_p = -0.5 * jnp.sum(jnp.square(votes - mu[..., None, :, :]) / var[..., None, :, :]
                           + jnp.log(2 * math.pi * var[..., None, :, :]), -1)   # [..., I, J]
    r = jax.nn.softmax(jnp.log(a_out[..., None, :] + EPS) + log_p, axis=-1)
  raise ValueError('iterations must be >= 1')


def capsule_patches(x, kernel: int, stride: int):
  """[B, H, W, C, ...] -> [B, H', W', k*k*C, ...]: the capsules under each KxK window."""
  b, h, w = x.shape[:3]
  rest = x.shape[3:]
  flat = x.reshape(b, h, w, -1)
  oh, ow = (h - kernel) // stride + 1, (w - kernel) // stride + 1
  cols = [flat[:, i:i + stride * (oh - 1) + 1:stride, j:j + stride * (ow - 1) + 1:stride, :]
          for i in range(kernel) for j in range(kernel)]
  return jnp.stack(cols, axis=3).reshape((b, oh, ow, kernel * kernel * rest[0]) + rest[1:])


def transform(pose, w, dtype):
  """Votes M_i W_ij: poses [..., I, 4, 4] x transforms [I, J, 4, 4] -> [..., I, J, 4, 4], the
  operands in `dtype`, summed and returned in float32 (EM routing takes them in float32)."""
  return jnp.einsum('...iac,ijcd->...ijad', pose.astype(dtype), w.astype(dtype),
                    preferred_element_type=jnp.float32)


class PrimaryCaps(nn.Module):
  types: int

  @nn.compact
  def __call__(self, x):
    b, h, w, _ = x.shape
    pose = nn.Dense(self.types * 16, name='pose')(x).reshape(b, h, w, self.types, 4, 4)
    act = nn.sigmoid(nn.Dense(self.types, name='activation')(x))
    return pose, act


class ConvCaps(nn.Module):
  types: int
  kernel: int
  stride: int
  iterations: int
  dtype: str = 'float32'

  @nn.compact
  def __call__(self, pose, act):
    c_in = pose.shape[3]
    pose_p = capsule_patches(pose, self.kernel, self.stride)          # [B, H', W', I, 4, 4]
    act_p = capsule_patches(act, self.kernel, self.stride)            # [B, H', W', I]
    n_in = self.kernel * self.kernel * c_in
    w = self.param('W', nn.initializers.normal(0.5), (n_in, self.types, 4, 4))
    votes = transform(pose_p, w, self.dtype).reshape(pose_p.shape[:4] + (self.types, 16))
    beta_v = self.param('beta_v', nn.initializers.zeros_init(), (self.types,))
    beta_a = self.param('beta_a', nn.initializers.zeros_init(), (self.types,))
    mu, a_out, _ = em_route(votes, act_p, beta_v, beta_a, self.iterations)
    return mu.reshape(mu.shape[:-1] + (4, 4)), a_out


class ClassCaps(nn.Module):
  classes: int
  iterations: int
  coord_add: bool = True
  dtype: str = 'float32'

  @nn.compact
  def __call__(self, pose, act):
    b, h, w, c = pose.shape[:4]
    wt = self.param('W', nn.initializers.normal(0.5), (c, self.classes, 4, 4))
    votes = transform(pose, wt, self.dtype)                            # [B, H, W, C, J, 4, 4]
    if self.coord_add:  # the child's (row, column) centre, scaled to [0, 1], into the vote
      rows = (jnp.arange(h, dtype=pose.dtype) + 0.5) / h
      cols = (jnp.arange(w, dtype=pose.dtype) + 0.5) / w
      votes = votes.at[..., 0, 3].add(rows[None, :, None, None, None])
      votes = votes.at[..., 1, 3].add(cols[None, None, :, None, None])
    votes = votes.reshape(b, h * w * c, self.classes, 16)
    beta_v = self.param('beta_v', nn.initializers.zeros_init(), (self.classes,))
    beta_a = self.param('beta_a', nn.initializers.zeros_init(), (self.classes,))
    mu, a_out, r = em_route(votes, act.reshape(b, -1), beta_v, beta_a, self.iterations)
    return mu, a_out, r


class MatrixCapsNet(nn.Module):
  conv_features: int = 32
  conv_kernel: int = 5
  conv_stride: int = 2
  primary_types: int = 32
  conv_caps: Sequence[tuple] = ((32, 3, 2), (32, 3, 1))   # (types, kernel, stride) per layer
  num_classes: int = 10
  routing_iterations: int = 3
  coord_add: bool = True
  im2col: bool = True
  dtype: str = 'float32'        # of the vote transforms' operands (see above); the rest float32

  @nn.compact
  def __call__(self, x, train: bool = False, labels=None):
    del train, labels   # no decoder, no dropout
    h = nn.relu(Conv(self.conv_features, self.conv_kernel, self.conv_stride,
                     im2col=self.im2col)(x))
    pose, act = PrimaryCaps(self.primary_types)(h)
    for types, kernel, stride in self.conv_caps:
      pose, act = ConvCaps(types, kernel, stride, self.routing_iterations, self.dtype)(pose, act)
    mu, a_out, r = ClassCaps(self.num_classes, self.routing_iterations, self.coord_add,
                             self.dtype)(pose, act)
    return {'activations': a_out, 'poses': mu, 'coupling': r}


VARIANTS = {
    'tiny': (MatrixCapsNet, dict(conv_features=8, conv_kernel=3, conv_stride=1, primary_types=4,
                                 conv_caps=((4, 3, 2),), routing_iterations=2)),
    # 8x8 digits: Conv 32@3x3 -> 6x6, PrimaryCaps 8 types, ConvCaps 8 types 3x3/2 -> 2x2,
    # ClassCaps 10 with coordinate addition, 3 EM iterations.
    'digits': (MatrixCapsNet, dict(conv_features=32, conv_kernel=3, conv_stride=1,
                                   primary_types=8, conv_caps=((8, 3, 2),))),
    # Hinton, Sabour & Frosst 2018, Section 4 / Figure 1 (smallNORB 32x32): Conv 32@5x5/2 (A=32),
    # PrimaryCaps B=32, ConvCaps1 C=32 3x3/2, ConvCaps2 D=32 3x3/1, ClassCaps E=5, 3 iterations.
    'hinton_smallnorb': (MatrixCapsNet, dict(num_classes=5)),
}
