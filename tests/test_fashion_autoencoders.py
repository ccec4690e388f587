"""The Fashion-MNIST autoencoder claims (experiments/autoencoder/fashion_{ae,denoising,vae}.py):
each config's step traces on mock data, and (slow) each claim's measure takes one step there; the
VAE's negative ELBO is the one written by hand, and its eval estimates the expectation over the
posterior."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow_datasets as tfds

import models
from experiments import harness
from experiments.autoencoder import fashion_ae
from experiments.autoencoder import fashion_denoising
from experiments.autoencoder import fashion_vae
from tests import mock_step
from train import config as config_lib
from train.objectives import reconstruction

# One step of the claim's config, with narrow hidden layers: the measures' plumbing, not the
# network's size, is what these tests check (test_experiments.py builds the full networks).
ONE_STEP = ['--config.num_steps=1', '--config.data.batch_size=8', '--config.data.eval_batch_size=8',
            '--config.ckpt_every=0', '--config.model.hidden=(16,)']


CONFIGS = {'experiments/autoencoder/fashion_ae.py': {'loss', 'mse'},
           'experiments/autoencoder/fashion_denoising.py': {'loss', 'mse'},
           'experiments/autoencoder/fashion_vae.py': {'loss', 'mse', 'nll', 'kl'}}


@pytest.mark.parametrize('path', sorted(CONFIGS))
def test_claim_config_step_traces_on_mock_fashion_mnist(path):
  """One train and one eval step of the claim's own network, traced to shapes (no compile)."""
  t = mock_step.traced_step(config_lib.load(path))
  assert t.batch['image'].shape == (8, 28, 28, 1)
  assert jax.tree.map(lambda a: a.shape, t.state.params) == \
      jax.tree.map(lambda a: a.shape, t.run.abstract_state.params)
  assert CONFIGS[path] <= set(t.metrics) and t.metrics['loss'].shape == ()
  assert CONFIGS[path] | {'count'} == set(t.sums)


@pytest.fixture
def arms(tmp_path, monkeypatch):
  """Finished runs are cached (at a clean commit) under the test's own directory."""
  monkeypatch.setattr(harness, 'ARMS_CACHE', str(tmp_path / 'arms'))


@pytest.mark.slow  # ~15 s each (compiles on 8 devices, PCA, pictures): in CI, .ci/run
def test_ae_claim_measures_its_ratio_to_pca_in_one_step(tmp_path, arms):
  with tfds.testing.mock_data(num_examples=16):
    ratio, seen = fashion_ae.measure(0, tmp_path, ONE_STEP)
  assert seen['pca_per_image'] > 0 and seen['ae_per_image'] > 0
  assert ratio == pytest.approx(seen['ae_per_image'] / seen['pca_per_image'])


@pytest.mark.slow  # ~15 s each (compiles on 8 devices, PCA, pictures): in CI, .ci/run
def test_denoising_claim_scores_both_arms_on_the_masks_the_objective_draws(tmp_path, arms):
  """The helper's masked error of the DAE equals the DAE run's own eval (the objective masks its
  eval inputs): the plain arm, scored by the helper, saw the very same inputs."""
  with tfds.testing.mock_data(num_examples=12):   # 8 + a padded batch of 4
    ratio, seen = fashion_denoising.measure(0, tmp_path, ONE_STEP)
  assert seen['dae_masked_mse'] == pytest.approx(seen['dae_eval_mse'], rel=1e-5)
  assert ratio == pytest.approx(seen['dae_masked_mse'] / seen['ae_masked_mse'])


@pytest.mark.slow  # ~15 s each (compiles on 8 devices, PCA, pictures): in CI, .ci/run
def test_vae_claim_measures_the_elbo_and_draws_samples_and_a_latent_walk(tmp_path):
  with tfds.testing.mock_data(num_examples=16):
    nelbo, seen = fashion_vae.measure(0, tmp_path, ONE_STEP)
  assert nelbo == pytest.approx(seen['nll'] + seen['kl'], rel=1e-5)
  assert math.isfinite(seen['bernoulli_pixels']) and seen['bernoulli_pixels'] > 0
  assert {'samples.png', 'latent_walk.png'} <= set(seen['pictures'])


def _vae_objective(eval_seed=0, **model):
  config = fashion_vae.get_config('tiny')
  with config.unlocked():
    config.model.update(model)
    config.objective_args.eval_seed = eval_seed
  model = models.build(config.model)
  return reconstruction.Reconstruction(config, model, None), model


def test_negative_elbo_is_bernoulli_cross_entropy_plus_the_closed_form_kl():
  objective, _ = _vae_objective()
  rng = np.random.default_rng(0)
  x = rng.uniform(size=(3, 4, 4, 1))
  r = rng.uniform(0.05, 0.95, size=x.shape)
  mean, logvar = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
  outputs = {k: jnp.asarray(v, jnp.float32) for k, v in
             dict(reconstruction=r, mean=mean, logvar=logvar, code=mean).items()}
  loss, parts = objective.per_example(outputs, {'image': jnp.asarray(x, jnp.float32)})
  nll = -(x * np.log(r) + (1 - x) * np.log(1 - r)).reshape(3, -1).sum(-1)
  sigma = np.exp(logvar / 2)   # KL(N(m, s^2) || N(0, 1)) = -log s + (s^2 + m^2) / 2 - 1/2 a dim
  kl = (-np.log(sigma) + (sigma ** 2 + mean ** 2) / 2 - 0.5).sum(-1)
  np.testing.assert_allclose(parts['nll'], nll, rtol=1e-5)
  np.testing.assert_allclose(parts['kl'], kl, rtol=1e-5)
  np.testing.assert_allclose(loss, nll + kl, rtol=1e-5)
  # By hand: a posterior equal to the prior costs nothing, and p = 1/2 costs log 2 a pixel.
  half = dict(outputs, reconstruction=jnp.full(x.shape, 0.5), mean=jnp.zeros((3, 5)),
              logvar=jnp.zeros((3, 5)))
  loss, parts = objective.per_example(half, {'image': jnp.asarray(x, jnp.float32)})
  np.testing.assert_allclose(parts['kl'], 0, atol=1e-7)
  np.testing.assert_allclose(loss, 16 * np.log(2), rtol=1e-6)


def test_eval_elbo_is_a_one_sample_estimate_of_the_expectation_over_the_posterior():
  """The eval's reconstruction term is the decoder's at one draw of mean + sigma * eps, fixed by
  the eval seed: the same seed gives the same number, and over many seeds the estimates average
  to the expectation taken here with numpy's own normal draws (not to the decoder at the mean).
  The decoder alone (model.decoder) is the model's own."""
  objective, model = _vae_objective(hidden=(16,), code=3)
  x = jnp.asarray(np.random.default_rng(1).uniform(size=(2, 4, 4, 1)), jnp.float32)
  variables = model.init(jax.random.PRNGKey(0), x)
  state = type('State', (), {'params': variables['params'], 'model_state': {}})()
  batch = {'image': x, 'mask': jnp.ones(2)}
  first = float(objective.eval_step(state, batch)['loss'])
  assert float(objective.eval_step(state, batch)['loss']) == first
  estimates = []
  for seed in range(16):
    other, _ = _vae_objective(seed, hidden=(16,), code=3)
    estimates.append(float(other.eval_step(state, batch)['loss']))
  assert estimates[0] == first and len(set(estimates)) == 16
  out = model.apply(variables, x)
  decoder = model.decoder(x.shape[1:])
  decode = lambda z: decoder.apply({'params': variables['params']['decoder']}, z)  # noqa: E731
  np.testing.assert_allclose(decode(out['mean']), out['reconstruction'], rtol=1e-6)
  eps = np.random.default_rng(2).normal(size=(4000,) + out['mean'].shape).astype(np.float32)
  z = out['mean'] + jnp.exp(out['logvar'] / 2) * eps
  r = jax.vmap(decode)(z)
  nll = -(x * jnp.log(r) + (1 - x) * jnp.log1p(-r)).reshape(len(eps), len(x), -1).sum(-1)
  at_mean, parts = objective.per_example(out, batch)
  expected = float(nll.mean(0).sum() + parts['kl'].sum())
  error = np.std(estimates) / np.sqrt(len(estimates))
  assert abs(np.mean(estimates) - expected) < 4 * error, (np.mean(estimates), expected, error)
  assert abs(float(at_mean.sum()) - expected) > 4 * error   # measured: 5.5


def test_walk_covers_the_prior_in_the_two_most_used_code_dimensions():
  from train.objectives import reconstruction_pictures
  rng = np.random.default_rng(0)
  means = rng.normal(size=(50, 4)) * np.array([0.1, 3.0, 0.2, 2.0])
  (i, j), codes = reconstruction_pictures.walk_codes(means, 5)
  assert (i, j) == (1, 3) and codes.shape == (25, 4)
  grid = codes.reshape(5, 5, 4)
  assert np.all(grid[:, :, [0, 2]] == 0)
  down, across = grid[:, 0, 1], grid[0, :, 3]
  np.testing.assert_allclose(down, across)
  assert np.all(np.diff(down) > 0) and down[2] == 0
  np.testing.assert_allclose(down, -down[::-1], atol=1e-7)
  np.testing.assert_allclose(down[-1], 1.2815516, rtol=1e-6)   # the 90% quantile of N(0, 1)
  assert np.all(grid[:, :, 1] == down[:, None]) and np.all(grid[:, :, 3] == across[None, :])
