"""DCGAN (Radford, Metz & Chintala 2016) on the 8x8 digits; `:full` is the paper's 64x64 model on
TFDS celeb_a.

CPU scale: a two-level DCGAN (generator 2x2x64 -> 4x4x32 -> 8x8x1 with batch norm and ReLU, sigmoid
output; discriminator 32 -> 64 channels, 4x4 stride-2 convolutions with leaky ReLU 0.2), Adam 2e-4
with b1 0.5 as in the paper, non-saturating loss. The claim asks whether samples look like digits to
a classifier that never saw a generated image: a logistic regression fit on the real training
digits must be confident (max class probability >= 0.9) on many samples, and the samples must
spread over the classes (printed: how many of the 10 classes get >= 2% of the samples). For scale:
the classifier is confident on 76% of the real test digits and on 0% of an untrained generator's
samples; calibration (seed 0, 3000 steps) gave 42% with all 10 classes present.

  python -m train --config experiments/gan/dcgan_digits.py --workdir runs/dcgan
  python -m experiments.reproduce experiments/gan/dcgan_digits.py
"""

from experiments import harness
from train.config import base_config


def get_config(arg: str = ''):
  c = base_config()
  c.objective = 'gan'
  c.model.name = 'gan'
  c.model.variant = 'dcgan_digits'
  c.model.sample_shape = (8, 8, 1)
  c.data.name = 'nnzoo_digits'
  c.data.batch_size = 128
  c.data.eval_batch_size = 360
  c.optimizer.name = 'adam'
  c.optimizer.learning_rate = 2e-4
  c.optimizer.b1 = 0.5
  c.num_steps = 3000
  c.log_every = 100
  c.eval_every = 1000
  c.ckpt_every = 0
  c.objective_args.loss = 'nonsaturating'
  c.objective_args.input_key = 'image'
  if arg == 'tiny':
    c.model.g_hidden = (8, 4)
    c.model.d_hidden = (4, 8)
    c.data.batch_size = 16
    c.num_steps = 4
    c.eval_every = 0
  elif arg == 'full':
    # The paper's 64x64 DCGAN (the `dcgan64` row: G 1024-512-256-128, D 64-128-256-512, latent
    # 100, tanh output) on TFDS celeb_a (218x178 aligned faces). Input steps (train/preprocess.py):
    # keep the image, crop its central 108x108 (the face; the crop of carpedm20/DCGAN-tensorflow's
    # CelebA command, --input_height=108 --crop), resize to 64x64 and scale to [-1, 1] for tanh.
    c.model.variant = 'dcgan64'
    c.model.sample_shape = (64, 64, 3)
    c.data.name = 'celeb_a'
    c.data.cache = False
    c.data.preprocess = ('keep(keys=("image",))', 'center_crop(size=108)', 'resize(size=64)',
                         'value_range(low=-1.0, high=1.0)')
    c.data.eval_split = 'test[:10240]'
    c.data.eval_batch_size = 1024
    c.num_steps = 25_000   # ~20 epochs of 162,770 faces at batch 128
    c.eval_every = 5000
    c.ckpt_every = 5000
  elif arg:
    raise harness.unknown_argument(arg, '', 'tiny', 'full')
  return c


def measure(seed, workdir, overrides):
  """Fraction of 1000 samples a real-digit classifier labels with probability >= 0.9."""
  import numpy as np
  from sklearn.linear_model import LogisticRegression

  import models
  from experiments.autoencoder import measures as ae_measures
  from train import data
  from train import objectives
  from train import optimizer as optimizer_lib
  config = get_config()
  summary = harness.seeded_run(config, seed, workdir, overrides)
  tx, _ = optimizer_lib.make_optimizer(config.optimizer, config.num_steps)
  objective = objectives.build(config, models.build(config.model), tx)
  objective.eval_seed = 1000 + seed  # fresh noise, not the eval's fixed samples
  samples = np.asarray(objective.samples(summary['state'], 1000)).reshape(1000, -1)
  labels = np.asarray(data.ArraySource(data.open_source(config.data, 'train')).arrays['label'])
  clf = LogisticRegression(max_iter=2000).fit(
      ae_measures.split_arrays(config, 'train'), labels)
  prob = clf.predict_proba(samples)
  confident = float((prob.max(1) >= 0.9).mean())
  share = np.bincount(prob.argmax(1), minlength=10) / len(prob)
  print(f'    seed {seed}: confident {confident:.3f}, classes with >= 2% of samples '
        f'{int((share >= 0.02).sum())} of 10', flush=True)
  return confident


def get_record():
  from experiments.records import Claim, Paper, Record
  return Record(
      paper=Paper('Radford, Metz & Chintala', 2016, 'Unsupervised representation learning with '
                  'deep convolutional generative adversarial networks',
                  'https://arxiv.org/abs/1511.06434', 'Section 4 and Figures 2-3'),
      metric='qualitative samples (LSUN bedrooms, Imagenet-1k, a scraped Faces set); CIFAR-10 '
             'accuracy of discriminator features',
      paper_value='82.8% (CIFAR-10, L2-SVM on discriminator features, Table 1)',
      paper_setting='64x64 images, G 1024-512-256-128 transposed convs + BN + ReLU, D strided '
                    'convs + leaky ReLU, Adam 2e-4 b1 0.5, batch 128',
      full_hardware='1 TPU v5e chip or 1 GPU (TFDS celeb_a, 64x64; the paper\'s Faces set is not '
                    'public)',
      full_time='~2 h on one accelerator',
      claim=Claim(
          statement='a DCGAN trained on digits generates images a classifier of real digits '
                    'recognizes with confidence',
          setting='digits 8x8, 1437 train, 2-level DCGAN, Adam 2e-4 b1 0.5, batch 128, 3000 '
                  'steps; logistic regression on the real train digits scores 1000 samples',
          metric='fraction of samples with max class probability >= 0.9', threshold=0.3,
          direction='>=', seeds=(0, 1, 2), measure=measure, minutes=20.0),
  )
