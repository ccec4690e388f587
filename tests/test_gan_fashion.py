"""The Fashion-MNIST GAN claims (experiments/gan/fashion_*.py): the Frechet distance against its
closed form, the classifier's penultimate features and class histogram, the cache that keeps the
classifier's weights, each config's step on mock data, and (slow) the claims' measures end to end
in one step."""

import json
import os

import jax
import numpy as np
import pytest
import tensorflow_datasets as tfds
from scipy import linalg

import models
from experiments import harness
from experiments import provenance
from experiments.autoencoder import fashion_vae
from experiments.fashion import cnn2
from experiments.gan import fashion_dcgan
from experiments.gan import fashion_dcgan_classes
from experiments.gan import fashion_dcgan_vs_vae
from experiments.gan import fashion_wgan_gp
from experiments.gan import measures
from tests import mock_step
from train import config as config_lib
from train import loop
from train import tally


def test_frechet_distance_of_diagonal_gaussians_is_the_closed_form():
  """For commuting (here diagonal) covariances the distance is |mean_a - mean_b|^2 +
  sum (sigma_a - sigma_b)^2: means (0, 0) and (3, 4) give 25, standard deviations (1, 2) and
  (2, 3) give 1 + 1. A rotation of both leaves it, and non-commuting covariances agree with the
  formula written with scipy's general matrix square root."""
  mean_a, mean_b = np.zeros(2), np.array([3.0, 4.0])
  cov_a, cov_b = np.diag([1.0, 4.0]), np.diag([4.0, 9.0])
  assert measures.frechet_from_moments(mean_a, cov_a, mean_b, cov_b) == pytest.approx(27.0)
  turn = np.array([[np.cos(0.7), -np.sin(0.7)], [np.sin(0.7), np.cos(0.7)]])
  assert measures.frechet_from_moments(turn @ mean_a, turn @ cov_a @ turn.T, turn @ mean_b,
                                       turn @ cov_b @ turn.T) == pytest.approx(27.0)
  rng = np.random.default_rng(0)
  a, b = rng.normal(size=(6, 6)), rng.normal(size=(6, 6))
  cov_a, cov_b = a @ a.T, b @ b.T + np.eye(6)
  general = np.trace(cov_a + cov_b - 2 * np.real(linalg.sqrtm(cov_a @ cov_b)))
  assert measures.frechet_from_moments(np.zeros(6), cov_a, np.ones(6), cov_b) == pytest.approx(
      6.0 + general, rel=1e-9)


def test_frechet_distance_is_zero_for_one_set_and_grows_with_a_shift():
  x = np.random.default_rng(1).normal(size=(500, 8)) @ np.diag(np.arange(1.0, 9.0))
  assert abs(measures.frechet_distance(x, x)) < 1e-8
  shifts = [measures.frechet_distance(x, x + s) for s in (0.1, 0.5, 2.0)]
  # Same covariance: the distance is the squared shift, 8 s^2.
  np.testing.assert_allclose(shifts, [8 * 0.01, 8 * 0.25, 8 * 4.0], rtol=1e-6)
  # From samples: two draws of one Gaussian are near, a wider one is far.
  y = np.random.default_rng(2).normal(size=(500, 8)) @ np.diag(np.arange(1.0, 9.0))
  assert measures.frechet_distance(x, y) < 0.1 * measures.frechet_distance(x, 2 * y)


def _tiny_classifier():
  config = cnn2.get_config('tiny')
  with config.unlocked():
    config.model.variant = 'tiny'   # conv 8, 16, dense 32, then the 10 logits
  shapes = jax.eval_shape(models.build(config.model).init, jax.random.PRNGKey(0),
                          np.zeros((1, 28, 28, 1), np.float32))
  rng = np.random.default_rng(0)   # numpy draws: compiling the model's init takes seconds here
  variables = jax.tree.map(lambda a: rng.normal(0, 0.3, a.shape).astype(np.float32), shapes)
  return measures.Classifier(config, variables, 0.5)


def test_classifier_features_are_its_last_dense_layers_input(monkeypatch):
  """The penultimate features times the last layer's weights give the logits: they are what that
  layer reads, and the predicted class is their argmax. More images than a compiled call takes
  (CHUNK) come back whole and in order."""
  monkeypatch.setattr(measures, 'CHUNK', 2)   # 5 images: 2 + 2 + 1 padded
  classifier = _tiny_classifier()
  images = np.random.default_rng(0).uniform(size=(5, 28, 28, 1))
  features, predicted = classifier.read(images)
  assert features.shape == (5, 32) and features.dtype == np.float64 and (features >= 0).all()
  last = classifier.variables['params']['Dense_1']
  logits = features @ last['kernel'] + last['bias']
  apply = jax.jit(models.build(classifier.config.model).apply)
  np.testing.assert_allclose(logits, apply(classifier.variables, images.astype(np.float32)),
                             rtol=1e-4, atol=1e-5)
  np.testing.assert_array_equal(predicted, logits.argmax(-1))


def test_class_histogram_of_planted_samples():
  """Planted predictions: 50 of class 0, 30 of class 3, 20 of class 9 out of 100; seven classes
  are missing. The scores read the classifier's classes, not the features."""
  planted = np.array([0] * 50 + [3] * 30 + [9] * 20)
  shares = measures.class_shares(planted)
  np.testing.assert_allclose(shares, [0.5, 0, 0, 0.3, 0, 0, 0, 0, 0, 0.2])

  class Planted:
    def read(self, images):
      return np.asarray(images, np.float64).reshape(len(images), -1)[:, :3], planted

  features = np.random.default_rng(0).normal(size=(100, 3))
  found = measures.scores(Planted(), features, measures.moments(features))
  assert found['min_class_share'] == 0.0 and found['class_shares'][3] == 0.3
  assert abs(found['fd']) < 1e-8
  even = np.arange(1000) % 10
  assert measures.class_shares(even).min() == measures.class_shares(even).max() == 0.1


def test_gaussian_baseline_keeps_the_pixels_moments_within_their_range():
  train = np.random.default_rng(0).uniform(0.2, 0.8, size=(4000, 3)) @ np.array(
      [[1.0, 0.5, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.3]])
  draws = measures.gaussian_samples(train, 4000, seed=1)
  assert draws.shape == (4000, 3) and draws.min() >= 0 and draws.max() <= 1
  np.testing.assert_allclose(draws.mean(0), train.mean(0), atol=0.02)
  np.testing.assert_allclose(np.cov(draws, rowvar=False), np.cov(train, rowvar=False), atol=0.01)


def test_cached_files_keeps_the_files_extra_wrote(monkeypatch, tmp_path):
  """A run's file that `extra` wrote comes back from the cache at the same commit, without
  training again; a changed tree trains again and reads it from the workdir."""
  monkeypatch.setattr(harness, 'ARMS_CACHE', str(tmp_path / 'arms'))
  trained = []

  def _train(config, workdir, overwrite, stop_after, progress, stop, held):
    del overwrite, stop_after, progress, stop, held
    trained.append(workdir)
    os.makedirs(workdir, exist_ok=True)
    (workdir / 'config.json').write_text(config_lib.to_json(config))
    (workdir / 'summary.json').write_text(json.dumps({'eval': {'accuracy': 0.5}}))
    return {'eval': {'accuracy': 0.5}, 'state': config.seed}
  monkeypatch.setattr(loop, '_train', _train)

  def weights(summary, workdir):
    (workdir / 'w.bin').write_text(f'seed {summary["state"]}')
    return {'extra': 1}
  for commit, runs in (('aaaaaaaaaa', 1), ('aaaaaaaaaa', 1), ('aaaaaaaaaa+dirty', 2)):
    monkeypatch.setattr(provenance, 'commit', lambda c=commit: c)
    tally.reset()
    metrics, directory = harness.cached_files(config_lib.base_config(), 3,
                                              tmp_path / f'wd{runs}', extra=weights,
                                              keep=('w.bin',))
    assert metrics == {'accuracy': 0.5, 'extra': 1} and len(trained) == runs
    assert (directory / 'w.bin').read_text() == 'seed 3'
  assert str(directory) == str(tmp_path / 'wd2')


@pytest.mark.parametrize('get_config', [fashion_dcgan.get_config, fashion_wgan_gp.get_config])
def test_claim_config_step_traces_on_mock_fashion_mnist(get_config):
  """One train and one eval step of the claim's own networks on 28x28 images, traced to shapes;
  the WGAN-GP critic keeps no batch statistics."""
  c = get_config()
  run, _, state, metrics, sums = mock_step.traced_step(
      c, train_batch=8 * c.objective_args.get('n_critic', 1), examples=48)
  finest = c.model.get('g_hidden', (128, 64))[-1]   # dcgan28's widths unless the config halves them
  assert state.params['g']['Conv_1']['kernel'].shape == (3, 3, finest, 4)   # 4 x 1 channel
  assert set(run.abstract_state.model_state['batch_stats']) == (
      {'g'} if c.objective_args.loss == 'wgan-gp' else {'g', 'd'})
  assert metrics['g_loss'].shape == () and metrics['d_loss'].shape == ()
  images = jax.eval_shape(lambda s: run.objective.samples(s, 3), run.abstract_state)
  assert images.shape == (3, 28, 28, 1)
  assert {'loss', 'd_real', 'd_fake', 'count'} == set(sums)


ONE_STEP = ['--config.num_steps=1', '--config.data.batch_size=8', '--config.data.eval_batch_size=8',
            '--config.ckpt_every=0', '--config.model.g_hidden=(8, 4)',
            '--config.model.d_hidden=(4, 8)']


@pytest.fixture
def tiny_measures(tmp_path, monkeypatch):
  """The claims' measures at one step each, 16 samples, on mock Fashion-MNIST; the classifier
  and the VAE as their tiny configs; finished runs cached under the test's own directory, as at
  a clean commit."""
  monkeypatch.setattr(harness, 'ARMS_CACHE', str(tmp_path / 'arms'))
  monkeypatch.setattr(provenance, 'commit', lambda: 'aaaaaaaaaa')
  monkeypatch.setattr(measures, 'SAMPLES', 16)

  def tiny_classifier():
    c = cnn2.get_config('tiny')
    with c.unlocked():
      c.num_steps, c.data.batch_size, c.data.eval_batch_size = 1, 8, 8
      c.model.variant = 'tiny'
    return c

  def tiny_vae():
    c = fashion_vae.get_config('tiny')
    with c.unlocked():
      c.num_steps, c.data.batch_size, c.data.eval_batch_size, c.plots = 1, 8, 8, False
      c.model.hidden = (16,)
    return c
  monkeypatch.setattr(measures, 'classifier_config', tiny_classifier)
  monkeypatch.setattr(measures, 'vae_config', tiny_vae)


@pytest.mark.slow  # ~40 s (compiles a GAN, a classifier and a VAE): in CI, .ci/run
def test_fashion_gan_claims_measure_in_one_step(tmp_path, tiny_measures):
  """Every claim's number is the ratio or share it names; the DCGAN claims read one GAN run and
  all read one classifier (trained by the first, read back by the others), and the run keeps a
  sample grid from each evaluation."""
  with tfds.testing.mock_data(num_examples=16):
    ratio, seen = fashion_dcgan.measure(0, tmp_path / 'a', ONE_STEP)
    share, classes = fashion_dcgan_classes.measure(0, tmp_path / 'b', ONE_STEP)
    versus, both = fashion_dcgan_vs_vae.measure(0, tmp_path / 'c', ONE_STEP)
  assert ratio == pytest.approx(seen['fd'] / seen['fd_gaussian'])
  # Mock data's splits hold the same images: real images score 0, up to rounding.
  assert seen['fd'] > 0 and seen['fd_gaussian'] > 0 and abs(seen['fd_train_images']) < 1e-5
  assert 0 <= seen['classifier_accuracy'] <= 1
  assert len(seen['class_shares']) == 10 and sum(seen['class_shares']) == pytest.approx(1.0)
  assert share == min(classes['class_shares']) == seen['min_class_share']
  assert both['fd_dcgan'] == seen['fd'] and versus == pytest.approx(seen['fd'] / both['fd_vae'])
  assert both['fd_vae'] > 0 and both['fd_vae'] != seen['fd']
  pictures = {p.name for p in (tmp_path / 'a' / 'gan' / 'plots').glob('samples*.png')}
  assert pictures == {'samples.png', 'samples_step0000001.png'}
  trained = {p.parent.relative_to(tmp_path).as_posix()
             for p in tmp_path.glob('[abcd]/*/summary.json')}
  assert trained == {'a/classifier', 'a/gan', 'c/vae'}
