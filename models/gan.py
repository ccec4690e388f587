"""Generative adversarial networks: a generator and a discriminator in one module.

Goodfellow et al. 2014 ("Generative adversarial nets", NeurIPS): MLP generator and discriminator.
Radford, Metz & Chintala 2016 ("Unsupervised representation learning with deep convolutional
GANs", ICLR): DCGAN, transposed-convolution generator with batch norm and ReLU, strided-convolution
discriminator with leaky ReLU (both written without strided XLA convolutions, see below). The two
networks are the submodules `g` and `d`, so the parameters
(and the objective's two optimizer states) are {'g': ..., 'd': ...}; `generate(z)` and
`discriminate(x)` call one of them. The game itself is in train/objectives/gan.py.

`dtype='bfloat16'` computes both networks in bf16 with float32 parameters (batch norm's statistics
in float32 too); the generator's output nonlinearity and the discriminator's logits are float32,
since the objective takes its losses (softplus of the logits, the gradient penalty) from them.
"""

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

from models.mlp import ACTIVATIONS

OUTPUTS = {'linear': lambda x: x, 'tanh': jnp.tanh, 'sigmoid': nn.sigmoid}


def _output(name: str, x):
  return OUTPUTS[name](x.astype(jnp.float32))


class MLPGenerator(nn.Module):
  hidden: Sequence[int]
  shape: Sequence[int]          # one sample's shape
  activation: str
  output: str
  dtype: str = 'float32'

  @nn.compact
  def __call__(self, z, train: bool = False):
    del train
    for width in self.hidden:
      z = ACTIVATIONS[self.activation](nn.Dense(width, dtype=self.dtype)(z))
    size = 1
    for s in self.shape:
      size *= s
    out = _output(self.output, nn.Dense(size, dtype=self.dtype)(z))
    return out.reshape((z.shape[0],) + tuple(self.shape))


class MLPDiscriminator(nn.Module):
  hidden: Sequence[int]
  activation: str
  dtype: str = 'float32'

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train
    x = x.reshape(x.shape[0], -1)
    for width in self.hidden:
      x = ACTIVATIONS[self.activation](nn.Dense(width, dtype=self.dtype)(x))
    return nn.Dense(1, dtype=self.dtype)(x)[:, 0].astype(jnp.float32)


def strided_conv(x, features: int, kernel: int = 4, name=None, dtype='float32'):
  """A kernel x kernel, stride-2, SAME convolution written as strided slices + one Dense (im2col).

  Same function as nn.Conv(features, (kernel, kernel), strides=2, padding='SAME'); XLA:CPU takes
  seconds for the input gradient of a strided convolution, which the generator's update needs.
  """
  h, w = x.shape[1], x.shape[2]
  oh, ow = -(-h // 2), -(-w // 2)
  ph, pw = max((oh - 1) * 2 + kernel - h, 0), max((ow - 1) * 2 + kernel - w, 0)
  x = jnp.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
  patches = [x[:, i:i + 2 * oh:2, j:j + 2 * ow:2, :] for i in range(kernel) for j in range(kernel)]
  return nn.Dense(features, name=name, dtype=dtype)(jnp.concatenate(patches, -1))


def upsample_conv(x, features: int, name=None, dtype='float32'):
  """A stride-2 transposed convolution as a sub-pixel convolution (Shi et al. 2016): a 3x3 conv to
  4 x features channels, then depth-to-space. It contains every 4x4 stride-2 transposed conv (each
  output pixel sees the same 2x2 input neighbourhood) and avoids XLA:CPU's slow strided
  gradients."""
  b, h, w, _ = x.shape
  y = nn.Conv(4 * features, (3, 3), padding='SAME', name=name, dtype=dtype)(x)
  y = y.reshape(b, h, w, 2, 2, features).transpose(0, 1, 3, 2, 4, 5)
  return y.reshape(b, 2 * h, 2 * w, features)


class DCGenerator(nn.Module):
  """Dense to a (size / 2^L)^2 x features[0] map, then L x (BN, ReLU, 2x up-convolution)."""
  features: Sequence[int]       # channels per level, coarse to fine; the last level makes the image
  shape: Sequence[int]
  output: str
  batch_norm: bool
  dtype: str = 'float32'

  @nn.compact
  def __call__(self, z, train: bool = False):
    h, w, c = self.shape
    levels = len(self.features)
    x = nn.Dense((h >> levels) * (w >> levels) * self.features[0], dtype=self.dtype)(z)
    x = x.reshape(z.shape[0], h >> levels, w >> levels, self.features[0])
    for i in range(levels):
      if self.batch_norm:
        x = nn.BatchNorm(use_running_average=not train, momentum=0.9, dtype=self.dtype)(x)
      x = nn.relu(x)
      x = upsample_conv(x, c if i == levels - 1 else self.features[i + 1], dtype=self.dtype)
    return _output(self.output, x)


class DCDiscriminator(nn.Module):
  """Strided 4x4 convolutions with leaky ReLU (BN after the first), then one logit."""
  features: Sequence[int]
  batch_norm: bool
  dtype: str = 'float32'

  @nn.compact
  def __call__(self, x, train: bool = False):
    for i, f in enumerate(self.features):
      x = strided_conv(x, f, dtype=self.dtype)
      if self.batch_norm and i > 0:
        x = nn.BatchNorm(use_running_average=not train, momentum=0.9, dtype=self.dtype)(x)
      x = nn.leaky_relu(x, 0.2)
    return nn.Dense(1, dtype=self.dtype)(x.reshape(x.shape[0], -1))[:, 0].astype(jnp.float32)


class GAN(nn.Module):
  """`kind` 'mlp' or 'dcgan'. Called on a data batch (init), it runs both networks."""
  kind: str = 'mlp'
  latent: int = 2
  g_hidden: Sequence[int] = (128, 128)    # mlp widths, or dcgan channels coarse to fine
  d_hidden: Sequence[int] = (128, 128)    # mlp widths, or dcgan channels fine to coarse
  activation: str = 'relu'
  output: str = 'linear'
  batch_norm: bool = True                 # dcgan only
  d_batch_norm: bool = True               # dcgan: also in the discriminator (off for WGAN-GP's
                                          # critic, whose penalty is per example)
  sample_shape: Sequence[int] = ()        # () = the shape of the batch the module is built on
  dtype: str = 'float32'                  # compute dtype ('bfloat16': float32 parameters)

  def setup(self):
    shape = tuple(self.sample_shape)
    if self.kind == 'mlp':
      self.g = MLPGenerator(self.g_hidden, shape, self.activation, self.output, self.dtype)
      self.d = MLPDiscriminator(self.d_hidden, self.activation, self.dtype)
    elif self.kind == 'dcgan':
      self.g = DCGenerator(self.g_hidden, shape, self.output, self.batch_norm, self.dtype)
      self.d = DCDiscriminator(self.d_hidden, self.batch_norm and self.d_batch_norm, self.dtype)
    else:
      raise ValueError(f'GAN.kind must be mlp or dcgan, got {self.kind!r}')

  def generate(self, z, train: bool = False):
    return self.g(z, train)

  def discriminate(self, x, train: bool = False):
    return self.d(x, train)

  def __call__(self, x, train: bool = False):
    z = jnp.zeros((x.shape[0], self.latent), x.dtype)
    return self.discriminate(self.generate(z, train), train), self.discriminate(x, train)


VARIANTS = {
    'tiny': (GAN, dict(latent=2, g_hidden=(16,), d_hidden=(16,))),
    # Goodfellow et al. 2014 style MLPs for 2-D toy data; the 8-Gaussian ring setting of Metz et al.
    # 2017 (unrolled GANs, App. A): 2 hidden layers of 128 ReLU units each, latent 256.
    'ring': (GAN, dict(latent=256, g_hidden=(128, 128), d_hidden=(128, 128))),
    # Gulrajani et al. 2017 (WGAN-GP) toy experiments: 3 hidden layers of 512 ReLU units.
    'ring_wgan_gp': (GAN, dict(latent=2, g_hidden=(512, 512, 512), d_hidden=(512, 512, 512))),
    # Radford et al. 2016 DCGAN for 64x64x3 (CelebA/LSUN): generator 1024-512-256-128 -> 3,
    # discriminator 64-128-256-512, latent 100, tanh output (data in [-1, 1]).
    'dcgan64': (GAN, dict(kind='dcgan', latent=100, g_hidden=(1024, 512, 256, 128),
                          d_hidden=(64, 128, 256, 512), output='tanh')),
    # A small DCGAN for 8x8 grey digits in [0, 1]: 2x2 -> 4x4 -> 8x8.
    'dcgan_digits': (GAN, dict(kind='dcgan', latent=32, g_hidden=(64, 32), d_hidden=(32, 64),
                               output='sigmoid')),
    # DCGAN for 28x28 grey images in [0, 1] (Fashion-MNIST): latent 100 as the paper's, generator
    # 7x7x128 -> 14x14x64 -> 28x28x1, discriminator 64 -> 128 channels (28 -> 14 -> 7), one logit.
    'dcgan28': (GAN, dict(kind='dcgan', latent=100, g_hidden=(128, 64), d_hidden=(64, 128),
                          output='sigmoid')),
}
