"""Autoencoders through the engine: losses fall, corruption behaves, conv and VAE shapes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import models
from experiments.autoencoder import ae_vs_pca
from experiments.autoencoder import measures
from train import config as config_lib
from train import loop
from train import metrics as metrics_lib
from train.objectives import reconstruction


def _run(tmp_path, steps, **model):
  """(train rows of metrics.jsonl, eval metrics) of a tiny run logging every step."""
  config = ae_vs_pca.get_config('tiny')
  with config.unlocked():
    config.num_steps = steps
    config.log_every = 1
    config.plots = False
    config.optimizer.learning_rate = 0.01
    for k, v in model.items():
      config.model[k] = v
  summary = loop.train_and_evaluate(config, tmp_path, overwrite=True, progress=False)
  rows = [r for r in metrics_lib.read(tmp_path) if r['split'] == 'train']
  return rows, summary['eval']


def test_dense_autoencoder_loss_falls(data_dir, tmp_path):
  rows, _ = _run(tmp_path, 60)
  assert np.mean([r['mse'] for r in rows[-5:]]) < 0.8 * rows[0]['mse']


def test_vae_loss_falls_and_reports_kl(data_dir, tmp_path):
  rows, last = _run(tmp_path, 60, variational=True)
  assert {'mse', 'kl', 'nll', 'loss'} <= set(last)
  assert np.mean([r['loss'] for r in rows[-5:]]) < 0.9 * rows[0]['loss']


def test_conv_autoencoder_reconstructs_the_input_shape():
  config = config_lib.base_config()
  config.model.name, config.model.variant = 'autoencoder', 'conv'
  model = models.build(config.model)
  x = jnp.ones((2, 8, 8, 1))
  out, _ = jax.eval_shape(model.init_with_output, jax.random.PRNGKey(0), x)
  assert out['reconstruction'].shape == x.shape and out['code'].shape == (2, 16)


def test_masking_zeroes_about_the_requested_fraction():
  x = jnp.ones((64, 8, 8, 1))
  y = reconstruction.corrupt(x, 'mask', 0.25, jax.random.PRNGKey(0))
  assert abs(float((y == 0).mean()) - 0.25) < 0.03
  assert reconstruction.corrupt(x, 'none', 0.25, None) is x


def test_pca_baseline_error_falls_with_code_size(data_dir):
  config = ae_vs_pca.get_config('tiny')
  errors = [measures.pca_test_mse(config, k) for k in (1, 4, 16, 64)]
  assert np.all(np.diff(errors) < 0) and errors[-1] == pytest.approx(0, abs=1e-10)
