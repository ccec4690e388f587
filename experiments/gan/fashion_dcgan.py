"""DCGAN (Radford, Metz & Chintala 2016) on 28x28 Fashion-MNIST, scored by the Frechet distance of
its samples to the test images in a Fashion classifier's features, against a Gaussian fitted to the
training pixels.

The paper's recipe at 28x28: a generator of transposed convolutions with batch norm and ReLU
(latent 100 -> 7x7x128 -> 14x14x64 -> 28x28x1, sigmoid output for pixels / 255), a discriminator of
stride-2 4x4 convolutions with leaky ReLU 0.2 and batch norm after the first (64 -> 128 channels),
Adam 2e-4 with b1 0.5, the non-saturating loss (models/gan.py `dcgan28`, train/objectives/gan.py).
The measure (experiments/gan/measures.py): "FID" in a domain classifier's features, as GAN papers
on MNIST compute it: the Frechet distance between Gaussians fitted to the penultimate features
(the input of the last dense layer) of 10,000 samples and of the 10,000 test images, where the
classifier is experiments/fashion/cnn2.py's 2-conv net trained by its own config with seed 0 at the
same commit (its test accuracy is printed and kept in the record's details; one run serves every
GAN claim and seed: harness.cached_files). The claim: the DCGAN's distance is at most half that of
10,000 draws of one Gaussian (full covariance) fitted to the 60,000 training images' pixels,
clipped to [0, 1]; the FD of 10,000 real training images is printed beside it as the floor.

Time (an estimate, not yet measured at full length): a step took 0.32 CPU-seconds in a 20-step
timing on a shared 2-core host, where cnn2.py's step took 0.25 against the 0.24 s a step of its
recorded run on 2 quiet cores; so 3750 steps ~19 minutes a seed at that ratio, ~20.5 with the 5
evaluations and the scoring (40,000 images through the classifier, the Gaussian's fit); 3 seeds and
the classifier's one run (~11 minutes: cnn2.py's record) ~75 minutes (`minutes`). A later claim at
the same commit reads the classifier and the GAN runs back.

No published Fashion-MNIST number: the threshold (0.5) is the one set before any run. The seed-0
calibration run is still to be made (`python -m experiments.reproduce
experiments/gan/fashion_dcgan.py --seeds 0`); its numbers then go here.

  python -m train --config experiments/gan/fashion_dcgan.py --workdir runs/fashion_dcgan
  python -m experiments.reproduce experiments/gan/fashion_dcgan.py

Each run's workdir/plots holds samples.png (64 samples from the fixed eval noise) and
samples_step<N>.png from every evaluation. fashion_dcgan_vs_vae.py and fashion_dcgan_classes.py
read the same runs (harness.cached_eval at the same commit).
"""

from experiments import harness
from train.config import base_config

THRESHOLD = 0.5
TRAIN = 60_000
BATCH = 64
STEPS = 3750                # 4 passes over the train images at batch 64


def get_config(arg: str = ''):
  c = base_config()
  c.objective = 'gan'
  c.model.name = 'gan'
  c.model.variant = 'dcgan28'
  c.model.sample_shape = (28, 28, 1)
  c.data.name = 'fashion_mnist'
  c.data.batch_size = BATCH
  c.data.eval_batch_size = 1000
  c.optimizer.name = 'adam'
  c.optimizer.learning_rate = 2e-4
  c.optimizer.b1 = 0.5
  c.num_steps = STEPS
  c.log_every = 100
  c.eval_every = STEPS // 5
  c.ckpt_every = STEPS // 5
  c.objective_args.loss = 'nonsaturating'
  c.objective_args.input_key = 'image'
  if arg == 'tiny':
    c.model.g_hidden = (8, 4)
    c.model.d_hidden = (4, 8)
    c.data.batch_size = 16
    c.num_steps = 4
    c.eval_every = c.ckpt_every = 0
  elif arg == 'full':   # twice the widths, 25 passes at the paper's batch of 128, for one chip
    c.model.g_hidden = (256, 128)
    c.model.d_hidden = (128, 256)
    c.data.batch_size = 128
    c.num_steps = 25 * (TRAIN // 128)
    c.eval_every = c.ckpt_every = 5 * (TRAIN // 128)
  elif arg:
    raise harness.unknown_argument(arg, '', 'tiny', 'full')
  return c


def measure(seed, workdir, overrides):
  """FD(DCGAN samples) / FD(samples of the Gaussian fitted to the train pixels)."""
  from experiments.gan import measures
  found = measures.fashion_gan(get_config, seed, workdir, overrides)
  return found['fd'] / found['fd_gaussian'], found


PAPER = ('Radford, Metz & Chintala', 2016, 'Unsupervised representation learning with deep '
         'convolutional generative adversarial networks', 'https://arxiv.org/abs/1511.06434')
PAPER_METRIC = 'qualitative samples (LSUN bedrooms, Imagenet-1k, a scraped Faces set)'
PAPER_VALUE = ('no published Fashion-MNIST number (the paper shows samples; FID came later, '
               'Heusel et al. 2017)')
PAPER_SETTING = ('64x64 images, G 1024-512-256-128 transposed convs + BN + ReLU, D strided convs '
                 '+ leaky ReLU, Adam 2e-4 b1 0.5, batch 128')
SETTING = (f'Fashion-MNIST 60k train, 28x28 pixels / 255; DCGAN G 7x7x128-14x14x64-28x28x1, D '
           f'64-128, latent 100, Adam 2e-4 b1 0.5, batch {BATCH}, {STEPS} steps; scored on 10,000 '
           'samples against the 10,000 test images in the penultimate (1024-d) features of '
           'cnn2.py\'s net trained with seed 0; CPU')


def record(claim):
  """The Record of a claim on this file's GAN runs."""
  from experiments.records import Paper, Record
  return Record(
      paper=Paper(*PAPER, 'Section 4 and Figures 2-3 (samples); the measure: Heusel et al. 2017'),
      metric=PAPER_METRIC, paper_value=PAPER_VALUE, paper_setting=PAPER_SETTING,
      full_hardware='1 GPU or TPU chip', full_time='~20 min on one accelerator (25 passes)',
      claim=claim)


def get_record():
  from experiments.records import Claim
  return record(Claim(
      statement='a DCGAN generates clothing images whose distribution, seen through a Fashion '
                'classifier\'s features, is far closer to the real test images than a Gaussian '
                'fitted to the training pixels (FD at most half the Gaussian\'s)',
      setting=SETTING, metric='FD(DCGAN samples) / FD(Gaussian of the train pixels)',
      threshold=THRESHOLD, direction='<=', seeds=(0, 1, 2), measure=measure, minutes=75.0))
