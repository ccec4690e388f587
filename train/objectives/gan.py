"""The adversarial game: one jitted step updates the discriminator, then the generator.

The state holds both networks' parameters as {'g', 'd'} and both optimizer states as {'g', 'd'}
(the config's one optimizer, instantiated twice). Losses (objective_args.loss):

  'nonsaturating' (Goodfellow et al. 2014, Section 3): D minimizes the cross-entropy of real vs
    generated, softplus(-D(x)) + softplus(D(G(z))); G maximizes log D(G(z)), i.e. minimizes
    softplus(-D(G(z))), the "non-saturating" loss the paper recommends over log(1 - D(G(z))).
  'wgan-gp' (Gulrajani et al. 2017, Algorithm 1): the critic minimizes D(G(z)) - D(x) +
    gp_weight (|grad D(x_hat)| - 1)^2 at random interpolates x_hat; G minimizes -D(G(z)).

`n_critic` discriminator updates precede each generator update inside the same step (WGAN-GP uses
5; Goodfellow et al.'s Algorithm 1 calls it k): the batch is split into n_critic parts, one per
critic update (make batch_size a multiple of n_critic x devices; a batch that does not split is
used whole by every critic update). Batch-norm statistics (DCGAN) live in model_state as {'g', 'd'}.

Eval draws as many samples as there are eval examples from a fixed key and reports the
discriminator's mean logit on real and generated data; its pictures of images are a grid of 64
samples from the fixed key (plots/samples.png, and plots/samples_step<N>.png kept from each
evaluation). For a 2-D ring of Gaussians (objective_args.ring_modes > 0, ring_radius, ring_std) it
also reports `high_quality`: the fraction of samples within 3 std of a mode (Srivastava et al.
2017, VEEGAN), and `mode_<k>`: the fraction of samples that are high-quality and nearest mode k;
`modes_covered` in experiments/gan/measures.py counts the modes holding at least 1% of the
samples.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from train.errors import UserError
from train.objectives.arguments import Arg
from train.objectives.arguments import resolve
from train.state import TrainState

LOSSES = ('nonsaturating', 'wgan-gp')


def ring_centres(modes: int, radius: float) -> np.ndarray:
  angles = 2 * np.pi * np.arange(modes) / modes
  return (radius * np.stack([np.cos(angles), np.sin(angles)], 1)).astype(np.float32)


class GANObjective:
  ARGS = {
      'loss': Arg('nonsaturating', str),
      'n_critic': Arg(1, int),
      'gp_weight': Arg(10.0, float),
      'input_key': Arg('image', str),
      'eval_seed': Arg(0, int),
      'ring_modes': Arg(0, int),
      'ring_radius': Arg(2.0, float),
      'ring_std': Arg(0.02, float),
  }

  def __init__(self, config, model, tx):
    self.config, self.model, self.tx = config, model, tx
    a = resolve(config, type(self), model)
    self.loss = a.loss
    if self.loss not in LOSSES:
      raise UserError(f'objective_args.loss={self.loss!r} is not one of {", ".join(LOSSES)}')
    self.n_critic = int(a.n_critic)
    self.gp_weight = float(a.gp_weight)
    self.input_key = a.input_key
    self.eval_seed = int(a.eval_seed)
    self.ring_modes = int(a.ring_modes)
    self.ring_radius = float(a.ring_radius)
    self.ring_std = float(a.ring_std)
    if not tuple(model.sample_shape):
      raise UserError('config.model.sample_shape must give one sample\'s shape, e.g. (2,) or '
                      '(8, 8, 1)')

  # -- the two networks ---------------------------------------------------------------------------
  def _variables(self, params, model_state):
    return {'params': params, **model_state}

  def generate(self, params, model_state, z, train):
    """(samples, updated model_state)."""
    if train and model_state:
      x, updates = self.model.apply(self._variables(params, model_state), z, True,
                                    method='generate', mutable=list(model_state))
      return x, _merge(model_state, updates, 'g')
    return self.model.apply(self._variables(params, model_state), z, train,
                            method='generate'), model_state

  def discriminate(self, params, model_state, x, train):
    if train and model_state:
      logits, updates = self.model.apply(self._variables(params, model_state), x, True,
                                         method='discriminate', mutable=list(model_state))
      return logits, _merge(model_state, updates, 'd')
    return self.model.apply(self._variables(params, model_state), x, train,
                            method='discriminate'), model_state

  def noise(self, key, n):
    return jax.random.normal(key, (n, self.model.latent))

  # -- the contract ------------------------------------------------------------------------------
  def init_state(self, rng, batch) -> TrainState:
    init_rng, base = jax.random.split(rng)
    variables = dict(self.model.init(init_rng, batch[self.input_key]))
    params = variables.pop('params')
    return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                      opt_state={'g': self.tx.init(params['g']), 'd': self.tx.init(params['d'])},
                      model_state=variables, rng=base)

  def d_loss(self, d_params, params, model_state, real, z, key):
    both = {**params, 'd': d_params}
    fake, model_state = self.generate(both, model_state, z, True)
    fake = jax.lax.stop_gradient(fake)
    real_logits, model_state = self.discriminate(both, model_state, real, True)
    fake_logits, model_state = self.discriminate(both, model_state, fake, True)
    if self.loss == 'nonsaturating':
      loss = jax.nn.softplus(-real_logits).mean() + jax.nn.softplus(fake_logits).mean()
    else:
      eps = jax.random.uniform(key, (real.shape[0],) + (1,) * (real.ndim - 1))
      mixed = eps * real + (1 - eps) * fake

      def critic_sum(x):
        return self.discriminate(both, model_state, x, False)[0].sum()
      g = jax.grad(critic_sum)(mixed).reshape(real.shape[0], -1)
      penalty = jnp.square(jnp.sqrt(jnp.sum(g * g, -1) + 1e-12) - 1).mean()
      loss = fake_logits.mean() - real_logits.mean() + self.gp_weight * penalty
    return loss, (model_state, real_logits.mean(), fake_logits.mean())

  def g_loss(self, g_params, params, model_state, z):
    both = {**params, 'g': g_params}
    fake, model_state = self.generate(both, model_state, z, True)
    logits, model_state = self.discriminate(both, model_state, fake, True)
    if self.loss == 'nonsaturating':
      loss = jax.nn.softplus(-logits).mean()
    else:
      loss = -logits.mean()
    return loss, model_state

  def train_step(self, state: TrainState, batch):
    rng = jax.random.fold_in(state.rng, state.step)
    real = batch[self.input_key]
    if real.shape[0] % self.n_critic == 0:
      parts = real.reshape((self.n_critic, real.shape[0] // self.n_critic) + real.shape[1:])
    else:
      parts = jnp.broadcast_to(real, (self.n_critic,) + real.shape)
    keys = jax.random.split(rng, self.n_critic + 1)

    def critic_update(carry, inputs):
      params, opt_d, model_state = carry
      part, key = inputs
      z_key, gp_key = jax.random.split(key)
      z = self.noise(z_key, part.shape[0])
      (loss, (model_state, real_mean, fake_mean)), grads = jax.value_and_grad(
          self.d_loss, has_aux=True)(params['d'], params, model_state, part, z, gp_key)
      updates, opt_d = self.tx.update(grads, opt_d, params['d'])
      params = {**params, 'd': optax.apply_updates(params['d'], updates)}
      return (params, opt_d, model_state), (loss, real_mean, fake_mean, optax.global_norm(grads))

    (params, opt_d, model_state), (d_losses, real_means, fake_means, d_norms) = jax.lax.scan(
        critic_update, (state.params, state.opt_state['d'], state.model_state), (parts, keys[:-1]))

    z = self.noise(keys[-1], real.shape[0])
    (g_loss, model_state), g_grads = jax.value_and_grad(self.g_loss, has_aux=True)(
        params['g'], params, model_state, z)
    updates, opt_g = self.tx.update(g_grads, state.opt_state['g'], params['g'])
    params = {**params, 'g': optax.apply_updates(params['g'], updates)}
    new = state.replace(step=state.step + 1, params=params, opt_state={'g': opt_g, 'd': opt_d},
                        model_state=model_state)
    return new, {'loss': d_losses.mean(), 'd_loss': d_losses.mean(), 'g_loss': g_loss,
                 'd_real': real_means.mean(), 'd_fake': fake_means.mean(),
                 'd_grad_norm': d_norms.mean(), 'g_grad_norm': optax.global_norm(g_grads)}

  def samples(self, state, n):
    """n samples from the fixed eval noise."""
    z = self.noise(jax.random.PRNGKey(self.eval_seed), n)
    return self.generate(state.params, state.model_state, z, False)[0]

  def eval_step(self, state: TrainState, batch):
    real = batch[self.input_key]
    mask = batch['mask']
    fake = self.samples(state, real.shape[0])
    d_real = self.discriminate(state.params, state.model_state, real, False)[0]
    d_fake = self.discriminate(state.params, state.model_state, fake, False)[0]
    sums = {'d_real': (d_real * mask).sum(), 'd_fake': (d_fake * mask).sum(), 'count': mask.sum()}
    if self.loss == 'nonsaturating':
      loss = jax.nn.softplus(-d_real) + jax.nn.softplus(d_fake)
    else:
      loss = d_fake - d_real
    sums['loss'] = (loss * mask).sum()
    if self.ring_modes:
      centres = jnp.asarray(ring_centres(self.ring_modes, self.ring_radius))
      d = jnp.sqrt(jnp.sum(jnp.square(fake[:, None, :] - centres[None]), -1))
      good = (d.min(-1) <= 3 * self.ring_std).astype(jnp.float32) * mask
      nearest = jnp.argmin(d, -1)
      sums['high_quality'] = good.sum()
      for k in range(self.ring_modes):
        sums[f'mode_{k}'] = (good * (nearest == k)).sum()
    return sums

  def plots(self, state, batch, directory):
    from train.objectives import gan_pictures
    real = np.asarray(batch[self.input_key])[np.asarray(batch['mask']) > 0]
    if real.ndim == 2 and real.shape[1] == 2:
      fake = self.samples(state, max(len(real), 512))
      centres = ring_centres(self.ring_modes, self.ring_radius) if self.ring_modes else None
      return [gan_pictures.samples_over_density(real, fake, centres, directory / 'samples.png')]
    # The latest grid, and one kept per evaluation: how the samples changed over training.
    grid = np.asarray(self.samples(state, 64))
    return [gan_pictures.sample_grid(grid, directory / 'samples.png'),
            gan_pictures.sample_grid(grid, directory / f'samples_step{int(state.step):07d}.png')]


def _merge(model_state, updates, net):
  """model_state with the statistics of network `net` replaced by those in `updates`."""
  out = {}
  for collection, value in model_state.items():
    new = dict(value)
    if net in updates.get(collection, {}):
      new[net] = updates[collection][net]
    out[collection] = new
  return out
