"""Autoencoders: an encoder to a small code and a decoder back to the input.

Undercomplete (a code smaller than the input; Hinton & Salakhutdinov 2006, "Reducing the
dimensionality of data with neural networks"), denoising (the same network trained on corrupted
inputs, which is the objective's business: Vincent et al. 2008) and variational (the encoder gives a
Gaussian posterior, the code is sampled from it; Kingma & Welling 2014, "Auto-encoding variational
Bayes").

Every module returns a dict: 'reconstruction' (the input's shape, in [0, 1] when `output` is
'sigmoid') and 'code' (the posterior mean for a VAE); a VAE adds 'mean' and 'logvar'. A VAE's
decoder sees a sample of the posterior in training, its mean at eval unless `sample=True` is passed
(an ELBO estimate needs the sample, a picture of reconstructions the mean). `decoder(shape)` is the
decoder alone, to apply to `params['decoder']` (samples from the prior, a walk through the code
space). Reconstruction losses live in train/objectives/reconstruction.py.

`dtype='bfloat16'` computes the layers in bf16 (float32 parameters). The output nonlinearity is
taken in float32: a bf16 sigmoid rounds to exactly 0 or 1 within 2^-9 of them, where the Bernoulli
likelihood's log is steepest. The VAE's noise is drawn in float32, so both dtypes draw the same.
"""

import math
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from models.mlp import ACTIVATIONS

OUTPUTS = {'sigmoid': nn.sigmoid, 'linear': lambda x: x}


def _output(name: str, z):
  return OUTPUTS[name](z.astype(jnp.float32))


class DenseEncoder(nn.Module):
  hidden: Sequence[int]
  code: int
  activation: str
  dtype: str = 'float32'

  @nn.compact
  def __call__(self, x):
    x = x.reshape(x.shape[0], -1)
    for width in self.hidden:
      x = ACTIVATIONS[self.activation](nn.Dense(width, dtype=self.dtype)(x))
    return nn.Dense(self.code, dtype=self.dtype)(x)


class DenseDecoder(nn.Module):
  hidden: Sequence[int]
  shape: Sequence[int]          # the input's shape without the batch axis
  activation: str
  output: str
  dtype: str = 'float32'

  @nn.compact
  def __call__(self, z):
    for width in self.hidden:
      z = ACTIVATIONS[self.activation](nn.Dense(width, dtype=self.dtype)(z))
    z = nn.Dense(math.prod(self.shape), dtype=self.dtype)(z)
    return _output(self.output, z).reshape((z.shape[0],) + tuple(self.shape))


class ConvEncoder(nn.Module):
  """Conv -> activation -> 2x2 average pool per level (no strided convs: slow gradients on CPU)."""
  features: Sequence[int]
  code: int
  activation: str
  dtype: str = 'float32'

  @nn.compact
  def __call__(self, x):
    for f in self.features:
      x = ACTIVATIONS[self.activation](nn.Conv(f, (3, 3), dtype=self.dtype)(x))
      x = nn.avg_pool(x, (2, 2), (2, 2))
    return nn.Dense(self.code, dtype=self.dtype)(x.reshape(x.shape[0], -1))


class ConvDecoder(nn.Module):
  """Dense to the coarsest feature map, then 2x nearest upsampling -> conv per level."""
  features: Sequence[int]       # the encoder's, reversed here
  shape: Sequence[int]
  activation: str
  output: str
  dtype: str = 'float32'

  @nn.compact
  def __call__(self, z):
    h, w, c = self.shape
    scale = 2 ** len(self.features)
    feats = tuple(reversed(self.features))
    x = nn.Dense((h // scale) * (w // scale) * feats[0], dtype=self.dtype)(z)
    x = ACTIVATIONS[self.activation](x).reshape(z.shape[0], h // scale, w // scale, feats[0])
    for i, f in enumerate(feats):
      x = jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)
      nxt = feats[i + 1] if i + 1 < len(feats) else f
      x = ACTIVATIONS[self.activation](nn.Conv(nxt, (3, 3), dtype=self.dtype)(x))
    return _output(self.output, nn.Conv(c, (3, 3), dtype=self.dtype)(x))


class Autoencoder(nn.Module):
  """x -> code -> reconstruction. `kind` 'dense' or 'conv'; `hidden` is the encoder's widths (dense)
  or channels per level (conv); the decoder mirrors it."""
  kind: str = 'dense'
  hidden: Sequence[int] = (128, 64)
  code: int = 4
  activation: str = 'relu'
  output: str = 'sigmoid'
  variational: bool = False     # encoder gives mean and log-variance; the code is sampled
  dtype: str = 'float32'        # compute dtype ('bfloat16': mixed precision, float32 parameters)

  @nn.nowrap
  def decoder(self, shape: Sequence[int]):
    """The decoder to inputs of `shape` (without the batch axis), the submodule named 'decoder'."""
    if self.kind == 'dense':
      return DenseDecoder(tuple(reversed(self.hidden)), tuple(shape), self.activation,
                          self.output, self.dtype, name='decoder')
    if self.kind == 'conv':
      return ConvDecoder(self.hidden, tuple(shape), self.activation, self.output, self.dtype,
                         name='decoder')
    raise ValueError(f'Autoencoder.kind must be dense or conv, got {self.kind!r}')

  @nn.compact
  def __call__(self, x, train: bool = False, sample: bool | None = None):
    width = 2 * self.code if self.variational else self.code
    if self.kind == 'dense':
      encoder = DenseEncoder(self.hidden, width, self.activation, self.dtype, name='encoder')
    else:
      encoder = ConvEncoder(self.hidden, width, self.activation, self.dtype, name='encoder')
    decoder = self.decoder(x.shape[1:])
    h = encoder(x)
    out = {}
    if self.variational:
      mean, logvar = jnp.split(h, 2, axis=-1)
      # Sampling needs the 'noise' rng; by default only in training (eval decodes the mean).
      if train if sample is None else sample:
        eps = jax.random.normal(self.make_rng('noise'), mean.shape).astype(mean.dtype)
        z = mean + jnp.exp(0.5 * logvar) * eps
      else:
        z = mean
      out.update(mean=mean, logvar=logvar)
      code = mean
    else:
      z = code = h
    out.update(code=code, reconstruction=decoder(z))
    return out


VARIANTS = {
    'tiny': (Autoencoder, dict(hidden=(16,), code=2)),
    # Hinton & Salakhutdinov 2006 (Science 313:504), the MNIST autoencoder 784-1000-500-250-30
    # (logistic units there, pretrained as RBMs; here ReLU trained end to end with Adam).
    'hinton2006': (Autoencoder, dict(hidden=(1000, 500, 250), code=30)),
    # A deep undercomplete dense AE for the 8x8 digits: 64-256-128-4 (nnzoo's digits claims).
    'digits': (Autoencoder, dict(hidden=(256, 128), code=4)),
    # A small convolutional AE: two conv/pool levels of 32 and 64 channels, mirrored decoder.
    'conv': (Autoencoder, dict(kind='conv', hidden=(32, 64), code=16)),
    # Kingma & Welling 2014, MNIST VAE: one hidden layer of 500, 20-d latent, Bernoulli decoder.
    'vae_kingma2014': (Autoencoder, dict(hidden=(500,), code=20, activation='tanh',
                                         variational=True)),
    # A 2-d latent VAE of the digits, for the code scatter.
    'vae_digits': (Autoencoder, dict(hidden=(256, 128), code=2, variational=True)),
}
