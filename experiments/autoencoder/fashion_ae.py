"""Hinton & Salakhutdinov's deep autoencoder against PCA at the same code size, on Fashion-MNIST.

Hinton & Salakhutdinov 2006 ("Reducing the dimensionality of data with neural networks", Science
313:504, Fig. 2B and text): a 784-1000-500-250-30 autoencoder reconstructs MNIST test images with
squared error 3.00 per image against 8.01 for 30-component PCA. Here: the same layer sizes (ReLU,
sigmoid output) trained end to end with Adam on the 60,000 Fashion-MNIST train images (pixels /
255; no RBM pretraining), against PCA with 30 components fitted on the same images; the claim is
the squared error per image on the 10,000 test images. No published Fashion-MNIST number for this
network, so the threshold is the one set before any run: 0.8x PCA-30's error.

  python -m train --config experiments/autoencoder/fashion_ae.py --workdir runs/fashion_ae
  python -m experiments.reproduce experiments/autoencoder/fashion_ae.py

The run trained here is also the plain arm of fashion_denoising.py (the same config and seed at
the same commit are read back, experiments/harness.py cached_eval), which scores it on masked test
images as well.
"""

from experiments import harness
from train.config import base_config

CODE = 30
TRAIN = 60_000
# The threshold (0.8x PCA-30) was set before any run. Calibration, seed 0 alone (python -m
# experiments.reproduce experiments/autoencoder/fashion_ae.py --seeds 0, at commit 39f6eb3): AE
# 7.710 per test image against PCA-30's 12.243, ratio 0.630, 4.6 minutes on 2 busy cores. The 4000
# steps were chosen from that run's evals (10.86, 8.68, 7.91 per image at steps 1000, 2000, 3000)
# and a 300-step run's 17.15: fewer steps would cut the margin.


def get_config(arg: str = ''):
  c = base_config()
  c.objective = 'reconstruction'
  c.model.name = 'autoencoder'
  c.model.variant = 'hinton2006'
  c.model.code = CODE
  c.data.name = 'fashion_mnist'
  c.data.batch_size = 128
  c.data.eval_batch_size = 1000
  c.optimizer.name = 'adam'
  c.optimizer.learning_rate = 1e-3
  c.optimizer.schedule = 'cosine'
  c.num_steps = 4000             # 8.5 passes over the train images
  c.log_every = 100
  c.eval_every = 0
  c.ckpt_every = 1000
  if arg == 'tiny':
    c.num_steps = 5
    c.ckpt_every = 0
    c.plots = False
  elif arg == 'full':   # 200 passes, as ae_vs_pca.py's full config on MNIST
    c.num_steps = 200 * (TRAIN // 128)
    c.eval_every = 5000
    c.ckpt_every = 5000
  elif arg:
    raise harness.unknown_argument(arg, '', 'tiny', 'full')
  return c


def measure(seed, workdir, overrides):
  """Squared error per test image, AE / PCA-30 (PCA fitted on the train images)."""
  from experiments.autoencoder import measures
  from train import config as config_lib
  ae = measures.trained_with_masked_error(get_config(), seed, workdir / 'ae', overrides)
  data = get_config()
  config_lib.apply_overrides(data, list(overrides))
  train = measures.split_arrays(data, data.data.train_split)
  test = measures.split_arrays(data, data.data.eval_split)
  ae_image = ae['mse'] * test.shape[1]
  pca_image = float(measures.pca_errors(train, test, CODE).mean())
  print(f'    seed {seed}: squared error per test image AE {ae_image:.3f}, PCA-{CODE} '
        f'{pca_image:.3f}', flush=True)
  return ae_image / pca_image, {'ae_per_image': ae_image, 'pca_per_image': pca_image}


def get_record():
  from experiments.records import Claim, Paper, Record
  return Record(
      paper=Paper('Hinton & Salakhutdinov', 2006,
                  'Reducing the dimensionality of data with neural networks',
                  'https://doi.org/10.1126/science.1127647', 'Figure 2B and text'),
      metric='MNIST test squared reconstruction error per image (AE vs PCA, code 30)',
      paper_value='3.00 (autoencoder) vs 8.01 (PCA), ratio 0.37 on MNIST; no published '
                  'Fashion-MNIST number for this network (PCA-30 measured here: 12.24 per image)',
      paper_setting='MNIST 60k/10k, 784-1000-500-250-30 logistic AE, RBM pretraining + '
                    'fine-tuning',
      full_hardware='1 GPU or TPU chip',
      full_time='~15 min on one accelerator (200 passes, Adam end to end)',
      claim=Claim(
          statement='a deep nonlinear autoencoder reconstructs held-out real images better than '
                    'PCA with the same code size',
          setting='Fashion-MNIST 60k train / 10k test, pixels / 255, 784-1000-500-250-30 ReLU AE '
                  '(mirrored decoder, sigmoid output), 4000 Adam steps of batch 128 (cosine), '
                  'vs PCA-30 fitted on the same train images; CPU',
          metric='test squared error per image, AE / PCA-30', threshold=0.8, direction='<=',
          seeds=(0, 1, 2), measure=measure, minutes=15.0),
      notes='seed-0 calibration at 39f6eb3: AE 7.710 vs PCA-30 12.243 per test image (0.630)',
  )
