"""The baseline CNN on two overlapping digits, against CapsNet on the same pairs.

Sabour, Frosst & Hinton 2017, Table 1 (MultiMNIST column): 8.1% test error for the baseline CNN
against 5.2% for CapsNet (3 routing iterations, reconstruction). A CNN names two digits with one
sigmoid per class trained on the two-hot target (the `multilabel` objective); its two highest
outputs are its answer, scored like the capsules' two longest. The network is the paper's
baseline pattern at the size of baseline_cnn_digits.py (3 SAME 3x3 convolutions 64-64-32 without
pooling, Dense 328-192, dropout 0.5) on the 12x12 pairs of `nnzoo_multi_digits`; the claim compares
it with multi_digits.py's CapsNet, trained from the same seeds (the CapsNet runs are shared
through experiments/harness.py's cache (cached_eval)).

  python -m train --config experiments/capsnet/multi_digits_cnn.py --workdir runs/caps_multi_cnn
  python -m experiments.reproduce experiments/capsnet/multi_digits_cnn.py
  python -m train --config experiments/capsnet/multi_digits_cnn.py:full --workdir gs://... \
      --config.data.data_dir=gs://.../tensorflow_datasets

'full': the `sabour_baseline` row (256-256-128 5x5 convolutions, Dense 328-192) on the paper's
MultiMNIST (`nnzoo_multi_digits/mnist`, 36x36).
"""

from experiments import harness
from train.config import base_config


def get_config(arg: str = ''):
  c = base_config()
  c.objective = 'multilabel'
  c.model.name = 'cnn'
  c.model.variant = 'sabour_baseline'
  c.model.features = (64, 64, 32)
  c.model.kernel = 3
  c.data.name = 'nnzoo_multi_digits'
  c.data.batch_size = 64
  c.data.eval_batch_size = 240
  c.optimizer.name = 'adam'
  c.optimizer.learning_rate = 1e-3
  c.optimizer.schedule = 'cosine'
  c.num_steps = 1000
  c.log_every = 100
  c.eval_every = 1000
  c.ckpt_every = 1000
  if arg == 'tiny':
    c.model.features = (8, 8, 4)
    c.model.dense = (16, 16)
    c.model.dropout = 0.0
    c.optimizer.learning_rate = 1e-2
    c.data.batch_size = 32
    c.data.eval_batch_size = 0
    c.num_steps = 10
    c.eval_every = c.ckpt_every = 0
    c.plots = False
  elif arg == 'full':
    del c.model['features'], c.model['kernel']   # the row's own 256-256-128 5x5
    c.data.name = 'nnzoo_multi_digits/mnist'
    c.data.cache = False
    c.data.batch_size = 128
    c.data.eval_batch_size = 1000
    c.optimizer.schedule = 'exponential'
    c.optimizer.decay_rate = 0.96
    c.optimizer.decay_steps = 4690
    c.num_steps = 4690 * 100
    # The test split holds 10M pairs: evaluate once at the end (for progress on the way, e.g.
    # --config.eval_every=23450 --config.data.eval_split='test[:100000]').
    c.eval_every = 0
    c.ckpt_every = 23450
  elif arg:
    raise harness.unknown_argument(arg, '', 'tiny', 'full')
  return c


def measure(seed, workdir, overrides):
  from experiments.capsnet import multi_digits
  return harness.compare(multi_digits.get_config(), get_config(), 'accuracy', seed,
                                workdir, overrides, names=('capsnet', 'cnn'))


def get_record():
  from experiments.records import Claim, Paper, Record
  return Record(
      paper=Paper('Sabour, Frosst & Hinton', 2017, 'Dynamic Routing Between Capsules',
                  'https://arxiv.org/abs/1710.09829', 'Table 1 (MultiMNIST)'),
      metric='MultiMNIST test error (%), both digits',
      paper_value='8.1 (baseline CNN) vs 5.2 (CapsNet, r=3, reconstruction)',
      paper_setting='MultiMNIST 36x36, 60M train / 10M test pairs; baseline CNN of Section 5 '
                    'with two sigmoid-scored outputs',
      full_hardware='1 GPU or 1 TPU v5e chip',
      full_time='not measured (no accelerator here): 469k steps of batch 128, one pass over '
                '60M pairs',
      claim=Claim(
          statement='on two overlapping digits CapsNet is not behind the baseline CNN pattern by '
                    'more than 5 points of both-digits accuracy (mean over seeds of '
                    'acc2(CapsNet) - acc2(CNN) >= -0.05); the paper finds CapsNet ahead by 2.9 '
                    'points of error',
          setting='nnzoo_multi_digits 12x12 pairs; CapsNet as in multi_digits.py vs CNN 64-64-32 '
                  '3x3 + Dense 328-192 + dropout 0.5 with sigmoid outputs, 1000 Adam steps each, '
                  'same seeds, CPU',
          metric='acc2(CapsNet) - acc2(CNN)', threshold=-0.05, direction='>=', seeds=(0, 1, 2),
          measure=measure, minutes=33.0),
      notes='Calibration (2 shared CPU cores), both-digits accuracy CapsNet / CNN: seed 0 '
            '0.547 / 0.552, seed 1 0.569 / 0.544, seed 2 0.546 / 0.575. At this scale the two '
            'are tied within seed noise: the paper\'s CapsNet advantage does not show, and the '
            'claim only bounds how far CapsNet could be behind.',
  )
