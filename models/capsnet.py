"""Capsule network with dynamic routing between capsules.

Sabour, Frosst & Hinton 2017, "Dynamic Routing Between Capsules" (NeurIPS), arXiv:1710.09829.

Conv1 (ReLU) -> PrimaryCaps (a strided conv whose channels are grouped into capsule vectors,
squashed) -> DigitCaps (every primary capsule i predicts every class capsule j through its own
matrix W_ij; routing-by-agreement mixes the predictions for r iterations) -> the class capsules'
lengths are the class scores, and a decoder reconstructs the input from the class capsule that the
mask keeps.

The model returns a dict, not logits: `lengths` [B, J], `capsules` [B, J, D], `coupling` [B, I, J]
(the last iteration's coupling coefficients, for pictures) and `reconstruction` [B, H, W, C] when
the decoder is on. `labels` choose which capsule the decoder sees (the true class while training, as
in the paper); without labels the longest capsule is used (evaluation).

`dtype='bfloat16'` computes the convolutions, the predictions u_hat = W_ij u_i and the decoder in
bf16 with float32 parameters; routing (its softmax over parents, the agreements and squashes it
iterates) and the capsule lengths stay float32, as does the decoder's output sigmoid: routing
feeds each iteration's rounding into the next one's coupling logits.
"""

import math
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from models.conv import Conv

EPS = 1e-7


def squash(s, axis: int = -1):
  """Eq. 1: v = |s|^2 / (1 + |s|^2) * s / |s|: keeps the direction, maps the length into [0, 1)."""
  sq = jnp.sum(jnp.square(s), axis=axis, keepdims=True)
  return s * (sq / (1.0 + sq) / jnp.sqrt(sq + EPS))


def route(u_hat, iterations: int, detach: bool = False):
  """Routing-by-agreement (Procedure 1) over predictions u_hat [B, I, J, D].

  Returns (v [B, J, D], c [B, I, J]). The coupling c of each child i is a softmax over its parents
  j of logits b that start at zero, so one iteration is uniform coupling; each further iteration
  raises b_ij by the agreement <u_hat_ij, v_j>. detach=True lets the gradient reach u_hat only
  through the last iteration (the couplings are treated as constants), as many implementations do.
  """
  n_parents = u_hat.shape[2]
  inner = jax.lax.stop_gradient(u_hat) if detach else u_hat
  # Iteration 1 written without the softmax of constant zeros, which XLA would constant-fold slowly.
  c = jnp.full(u_hat.shape[:3], 1.0 / n_parents, u_hat.dtype)
  v = squash((u_hat if iterations == 1 else inner).sum(1) / n_parents)
  b = jnp.zeros(u_hat.shape[:3], u_hat.dtype)
  for it in range(1, iterations):
    b = b + jnp.einsum('bijd,bjd->bij', inner, v)
    c = jax.nn.softmax(b, axis=2)
    v = squash(jnp.einsum('bij,bijd->bjd', c, u_hat if it == iterations - 1 else inner))
  return v, c


class PrimaryCaps(nn.Module):
  """A conv with capsules x dim channels, read as capsules at every output position, squashed."""
  capsules: int
  dim: int
  kernel: int
  stride: int
  im2col: bool = True
  dtype: str = 'float32'

  @nn.compact
  def __call__(self, x):
    y = Conv(self.capsules * self.dim, self.kernel, self.stride, im2col=self.im2col,
             dtype=self.dtype)(x)
    return squash(y.reshape(y.shape[0], -1, self.dim))     # [B, H'*W'*capsules, dim]


class ClassCaps(nn.Module):
  """u_hat_ij = W_ij u_i for every (child i, parent j) pair, then r routing iterations."""
  capsules: int
  dim: int
  iterations: int
  init_std: float = 0.01
  detach: bool = False
  dtype: str = 'float32'

  @nn.compact
  def __call__(self, u):
    _, n_in, d_in = u.shape
    w = self.param('W', nn.initializers.normal(self.init_std),
                   (n_in, self.capsules, d_in, self.dim))
    u_hat = jnp.einsum('bid,ijde->bije', u.astype(self.dtype), w.astype(self.dtype))
    return route(u_hat.astype(jnp.float32), self.iterations, self.detach)


class Decoder(nn.Module):
  """Fully connected ReLU layers, then a sigmoid layer with one unit per input pixel."""
  hidden: Sequence[int]
  dtype: str = 'float32'

  @nn.compact
  def __call__(self, masked, out_shape):
    h = masked.reshape(masked.shape[0], -1)
    for width in self.hidden:
      h = nn.relu(nn.Dense(width, dtype=self.dtype)(h))
    out = nn.Dense(math.prod(out_shape), dtype=self.dtype)(h).astype(jnp.float32)
    return nn.sigmoid(out).reshape((-1,) + tuple(out_shape))


class CapsNet(nn.Module):
  conv_features: int = 256
  conv_kernel: int = 9
  primary_capsules: int = 32
  primary_dim: int = 8
  primary_kernel: int = 9
  primary_stride: int = 2
  num_classes: int = 10
  class_dim: int = 16
  routing_iterations: int = 3
  transform_init: float = 0.01  # std of W_ij (the authors' code); larger for few primary capsules
  detach_routing: bool = False  # gradient only through the last routing iteration
  decoder: Sequence[int] = (512, 1024)
  reconstruct: bool = True
  im2col: bool = True          # the conv path; equal numbers, much faster gradients on XLA:CPU
  dtype: str = 'float32'        # compute dtype ('bfloat16': routing stays float32, see above)

  def setup(self):
    self.conv1 = Conv(self.conv_features, self.conv_kernel, 1, im2col=self.im2col,
                      dtype=self.dtype)
    self.primary = PrimaryCaps(self.primary_capsules, self.primary_dim, self.primary_kernel,
                               self.primary_stride, self.im2col, self.dtype)
    self.classes = ClassCaps(self.num_classes, self.class_dim, self.routing_iterations,
                             self.transform_init, self.detach_routing, self.dtype)
    if self.reconstruct:
      self.decoder_net = Decoder(tuple(self.decoder), self.dtype)

  def __call__(self, x, train: bool = False, labels=None):
    del train  # no dropout or batch norm: the same function in training and evaluation
    u = self.primary(nn.relu(self.conv1(x)))
    v, c = self.classes(u)
    lengths = jnp.sqrt(jnp.sum(jnp.square(v), -1) + EPS)
    out = {'lengths': lengths, 'capsules': v, 'coupling': c}
    if self.reconstruct:
      chosen = jnp.argmax(lengths, -1) if labels is None else labels
      out['reconstruction'] = self.decode(v, chosen, x.shape[1:])
    return out

  def decode(self, capsules, chosen, out_shape):
    """Reconstructs from `capsules` [B, J, D] with all but capsule `chosen` [B] set to zero."""
    mask = jax.nn.one_hot(chosen, self.num_classes, dtype=capsules.dtype)
    return self.decoder_net(capsules * mask[..., None], out_shape)


VARIANTS = {
    # Smoke tests: 8x8 inputs -> Conv 16@3x3 -> 6x6 -> PrimaryCaps 8x4D 3x3 -> 4x4x8 = 128 capsules.
    'tiny': (CapsNet, dict(conv_features=16, conv_kernel=3, primary_capsules=8, primary_dim=4,
                           primary_kernel=3, primary_stride=1, class_dim=8, transform_init=0.1,
                           decoder=(32,))),
    # Sabour et al.'s layer pattern shrunk to 8x8 digits: Conv 64@3x3 -> 6x6, PrimaryCaps 16x8D 3x3
    # stride 1 -> 4x4x16 = 256 capsules, DigitCaps 10x16D, decoder 128-256-64.
    'digits': (CapsNet, dict(conv_features=64, conv_kernel=3, primary_capsules=16, primary_dim=8,
                             primary_kernel=3, primary_stride=1, decoder=(128, 256))),
    # Sabour, Frosst & Hinton 2017, Section 4 / Figure 1-2 (28x28 MNIST): Conv1 256@9x9 -> 20x20,
    # PrimaryCaps 32x8D 9x9 stride 2 -> 6x6x32 = 1152 capsules, DigitCaps 10x16D, r = 3, decoder
    # 512-1024-784. 8.2M parameters with the decoder (6.8M without), as in the paper.
    'sabour_mnist': (CapsNet, dict()),
}
