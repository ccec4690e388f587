"""Reconstruction: autoencoders (plain, denoising, variational) trained to give back their input.

Per example, the plain loss is the mean squared error over the input's elements; it is also the
anomaly score (an input the model reconstructs badly is unlike the training data). A variational
autoencoder (outputs hold 'mean' and 'logvar') minimizes the negative ELBO instead: a Bernoulli or
Gaussian reconstruction term summed over elements plus the KL divergence of the posterior from
N(0, I) (Kingma & Welling 2014, eq. 10); 'mse' is still reported so models compare on one scale.
Its eval loss is the negative ELBO as the paper reports it: the decoder sees one sample of each
posterior (drawn from a fixed key, so every evaluation and every model sees the same noise), the
Monte Carlo estimate of the expected reconstruction term; decoding the posterior mean instead
scores another number, which bounds nothing.

Denoising (Vincent et al. 2008): the network sees a corrupted input and is scored against the clean
one. objective_args:
  corruption: 'none' | 'mask' (zero a random fraction of the elements) | 'gaussian' (add noise)
  corruption_level: the masked fraction, or the noise standard deviation (default 0.25)
  eval_corruption, eval_corruption_level: the same for evaluation (default: none). The eval mask
    comes from a fixed key (`eval_seed`), so two models are scored on identical corrupted inputs.
  likelihood: 'bernoulli' (default; inputs in [0, 1]) or 'gaussian' (unit variance), VAE only
  kl_weight: the KL term's weight (1 = the ELBO)
"""

import jax
import jax.numpy as jnp
import numpy as np

from train.errors import UserError
from train.objectives.arguments import Arg
from train.objectives.loss import LossObjective

CORRUPTIONS = ('none', 'mask', 'gaussian')


def corrupt(x, kind: str, level: float, key):
  """The corrupted copy of `x` a denoising autoencoder is given."""
  if kind == 'none' or level == 0:
    return x
  if kind == 'mask':
    return jnp.where(jax.random.uniform(key, x.shape) < level, jnp.zeros_like(x), x)
  if kind == 'gaussian':
    return x + level * jax.random.normal(key, x.shape, x.dtype)
  raise ValueError(kind)


def _per_example_mean(a):
  return a.reshape(a.shape[0], -1).mean(-1)


def _per_example_sum(a):
  return a.reshape(a.shape[0], -1).sum(-1)


class Reconstruction(LossObjective):
  ARGS = {
      'corruption': Arg('none', str),
      'corruption_level': Arg(0.25, float),
      'eval_corruption': Arg('none', str),
      'eval_corruption_level': Arg(lambda args, model: float(args.corruption_level), float),
      'eval_seed': Arg(0, int),
      'likelihood': Arg('bernoulli', str),
      'kl_weight': Arg(1.0, float),
  }

  def __init__(self, config, model, tx):
    super().__init__(config, model, tx)
    a = config.objective_args
    self.corruption = a.corruption
    self.level = float(a.corruption_level)
    self.eval_corruption = a.eval_corruption
    self.eval_level = float(a.eval_corruption_level)
    self.eval_seed = int(a.eval_seed)
    self.likelihood = a.likelihood
    self.kl_weight = float(a.kl_weight)
    for key, value in (('corruption', self.corruption), ('eval_corruption', self.eval_corruption)):
      if value not in CORRUPTIONS:
        raise UserError(f'objective_args.{key}={value!r} is not one of {", ".join(CORRUPTIONS)}')
    if self.likelihood not in ('bernoulli', 'gaussian'):
      raise UserError(f'objective_args.likelihood={self.likelihood!r}: use bernoulli or gaussian')

  def model_input(self, batch, train, key):
    x = batch[self.input_key]
    if train:
      return corrupt(x, self.corruption, self.level, key)
    return corrupt(x, self.eval_corruption, self.eval_level, jax.random.PRNGKey(self.eval_seed))

  @property
  def variational(self) -> bool:
    return bool(getattr(self.model, 'variational', False))

  def forward(self, variables, batch, train, rngs, mutable):
    kwargs = {}
    if train:
      corrupt_key, noise_key, dropout_key = jax.random.split(rngs['dropout'], 3)
      rngs = {'dropout': dropout_key, 'noise': noise_key}
    else:
      corrupt_key = None
      if self.variational:   # the ELBO's expectation over the posterior, one fixed sample
        rngs = {**rngs, 'noise': jax.random.fold_in(jax.random.PRNGKey(self.eval_seed), 1)}
        kwargs['sample'] = True
    return self.model.apply(variables, self.model_input(batch, train, corrupt_key), train=train,
                            rngs=rngs, mutable=mutable, **kwargs)

  def per_example(self, outputs, batch):
    x = batch[self.input_key]
    r = outputs['reconstruction']
    mse = _per_example_mean(jnp.square(r - x))
    if 'mean' not in outputs:
      return mse, {'mse': mse}
    if self.likelihood == 'bernoulli':
      p = jnp.clip(r, 1e-6, 1 - 1e-6)
      nll = -_per_example_sum(x * jnp.log(p) + (1 - x) * jnp.log1p(-p))
    else:
      nll = 0.5 * _per_example_sum(jnp.square(r - x) + jnp.log(2 * jnp.pi))
    mean, logvar = outputs['mean'], outputs['logvar']
    kl = -0.5 * jnp.sum(1 + logvar - jnp.square(mean) - jnp.exp(logvar), axis=-1)
    return nll + self.kl_weight * kl, {'mse': mse, 'kl': kl, 'nll': nll}

  def plots(self, state, batch, directory):
    from train.objectives import reconstruction_pictures as pictures
    variables = {'params': state.params, **state.model_state}
    shown = self.model_input(batch, False, None)
    outputs = self.model.apply(variables, shown, train=False)   # a VAE's from the posterior mean
    paths = [pictures.reconstruction_grid(batch[self.input_key], shown, outputs['reconstruction'],
                                          directory / 'reconstructions.png')]
    labels = batch.get('label')
    paths.append(pictures.code_scatter(outputs['code'], labels, batch['mask'],
                                       directory / 'codes.png'))
    if self.variational:
      decode = self.decoding(state, shown.shape[1:])
      z = jax.random.normal(jax.random.PRNGKey(self.eval_seed), (SAMPLES, self.model.code))
      paths.append(pictures.sample_grid(decode(z), directory / 'samples.png'))
      keep = np.asarray(batch['mask']) > 0
      plane, grid = pictures.walk_codes(np.asarray(outputs['mean'])[keep], WALK)
      paths.append(pictures.latent_walk(decode(grid), WALK, plane, directory / 'latent_walk.png'))
    return [p for p in paths if p is not None]

  def decoding(self, state, shape):
    """codes [N, code] -> the decoder's outputs [N, *shape] (a VAE's means of p(x | z))."""
    decoder = self.model.decoder(shape)
    return lambda z: np.asarray(decoder.apply({'params': state.params['decoder']}, z))


SAMPLES = 64   # decoded draws from the prior in samples.png
WALK = 12      # latent_walk.png is WALK x WALK decoded codes
