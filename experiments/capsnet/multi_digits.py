"""CapsNet on two overlapping digits (MultiMNIST-style): both-digits accuracy.

Sabour, Frosst & Hinton 2017, Section 6 and Table 1: trained on MultiMNIST (two MNIST digits of
different classes, each shifted by up to 4 pixels on a 36x36 canvas, added and clipped), CapsNet
with 3 routing iterations and the reconstruction loss has 5.2% test error against 8.1% for the
baseline CNN; the classification is the two most active digit capsules, and each digit is
reconstructed from its own capsule. Our CPU setting: `nnzoo_multi_digits` (train/datasets/
multi_digits.py), scikit-learn's 8x8 digits shifted by up to 2 pixels on a 12x12 canvas, 11,496
train / 1,440 test pairs; the `digits` CapsNet row with PrimaryCaps 3x3 stride 2 on the 10x10
conv map (4x4x16 = 256 primary capsules, a quarter of stride 1's, which 2 shared CPU cores train
4x faster); the CNN baseline on the same set is multi_digits_cnn.py.

  python -m train --config experiments/capsnet/multi_digits.py --workdir runs/caps_multi
  python -m experiments.reproduce experiments/capsnet/multi_digits.py
  python -m train --config experiments/capsnet/multi_digits.py:full --workdir gs://.../multi \
      --config.data.data_dir=gs://.../tensorflow_datasets

'full' is the paper's setting: `nnzoo_multi_digits/mnist` (built on first use from the TFDS mnist
in the same data dir, 60M / 10M pairs), the Sabour CapsNet on 36x36 inputs, the MNIST schedule
with a 10x longer learning-rate decay period (Section 6.2). Plots: `two_digits.png` (inputs and
the two most active capsules decoded one at a time, red and green) and `coupling.png`.
"""

from experiments import harness
from train.config import base_config


def get_config(arg: str = ''):
  c = base_config()
  c.objective = 'capsule'
  c.objective_args.two_digits = True
  # The paper's 0.0005 multiplies a sum over 784 pixels per digit; here each digit has 144.
  c.objective_args.recon_weight = 0.0005 * 784 / 144
  c.model.name = 'capsnet'
  c.model.variant = 'digits'
  c.model.routing_iterations = 3
  c.model.primary_stride = 2
  c.data.name = 'nnzoo_multi_digits'
  c.data.batch_size = 64
  c.data.eval_batch_size = 240
  c.optimizer.name = 'adam'
  c.optimizer.learning_rate = 2e-3
  c.optimizer.schedule = 'cosine'
  c.num_steps = 1000
  c.log_every = 100
  c.eval_every = 1000
  c.ckpt_every = 1000
  if arg == 'tiny':
    c.model.variant = 'tiny'
    c.data.batch_size = 32
    c.data.eval_batch_size = 0
    c.optimizer.learning_rate = 1e-2
    c.num_steps = 10
    c.eval_every = c.ckpt_every = 0
    c.plots = False
  elif arg == 'full':
    c.model.variant = 'sabour_mnist'
    c.model.im2col = False
    c.objective_args.recon_weight = 0.0005
    c.data.name = 'nnzoo_multi_digits/mnist'
    c.data.cache = False
    c.data.batch_size = 128
    c.data.eval_batch_size = 1000
    c.optimizer.learning_rate = 1e-3
    c.optimizer.schedule = 'exponential'
    c.optimizer.decay_rate = 0.96
    c.optimizer.decay_steps = 4690     # the MNIST model's 469, 10x longer (Section 6.2)
    c.num_steps = 4690 * 100
    c.log_every = 100
    # The test split holds 10M pairs: evaluate once at the end (for progress on the way, e.g.
    # --config.eval_every=23450 --config.data.eval_split='test[:100000]').
    c.eval_every = 0
    c.ckpt_every = 23450
  elif arg:
    raise harness.unknown_argument(arg, '', 'tiny', 'full')
  return c


def measure(seed, workdir, overrides):
  """Both-digits accuracy of this config's run; the run is shared with multi_digits_cnn.py's
  comparison through experiments/harness.py's cache (cached_eval) of finished runs."""
  evaluation = harness.cached_eval(get_config(), seed, workdir, overrides)
  print(f'    seed {seed}: both-digits accuracy {evaluation["accuracy"]:.4f}, digit accuracy '
        f'{evaluation["digit_accuracy"]:.4f}, recon MSE {evaluation["recon_mse"]:.4f}', flush=True)
  return evaluation['accuracy']


def get_record():
  from experiments.records import Claim, Paper, Record
  return Record(
      paper=Paper('Sabour, Frosst & Hinton', 2017, 'Dynamic Routing Between Capsules',
                  'https://arxiv.org/abs/1710.09829', 'Section 6, Table 1 (MultiMNIST)'),
      metric='MultiMNIST test error (%), both digits',
      paper_value='5.2 (CapsNet, 3 routing iterations, reconstruction) vs 8.1 (baseline CNN)',
      paper_setting='MultiMNIST: two MNIST digits of different classes, each shifted by up to '
                    '4 px on 36x36, added; 60M train / 10M test pairs; the two most active '
                    'digit capsules are the classification',
      full_hardware='1 GPU or 1 TPU v5e chip (plus a one-time build of the 60M pairs)',
      full_time='not measured (no accelerator here): 469k steps of batch 128, one pass over '
                '60M pairs',
      claim=Claim(
          statement='CapsNet names both of two overlapping digits: the two longest capsules are '
                    'exactly the two labels',
          setting='nnzoo_multi_digits: 8x8 digits shifted by up to 2 px on 12x12, 11,496 train / '
                  '1,440 test pairs; CapsNet `digits` row (256 primary capsules, r=3, decoder '
                  'per digit), 1000 Adam steps of batch 64, CPU',
          metric='both-digits test accuracy', threshold=0.5, direction='>=', seeds=(0, 1, 2),
          measure=measure, minutes=21.0),
      notes='Calibration (2 shared CPU cores): 0.547, 0.569, 0.546 for seeds 0-2 (chance: 1/45); '
            'the threshold leaves 4 seed standard deviations. The baseline CNN on the same pairs '
            'is multi_digits_cnn.py.',
  )
