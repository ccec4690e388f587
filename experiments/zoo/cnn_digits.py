"""CNN on the 8x8 handwritten digits: nnzoo's default experiment.

Model: Conv32 3x3 -> avgpool2 -> Conv64 3x3 -> avgpool2 -> Dense256 -> Dense10, ReLU (LeCun et al.
1998 style; the `small` row of models/cnn.py). Data: scikit-learn's digits (UCI optdigits), 1437
train / 360 test, built offline as the TFDS data set `nnzoo_digits`.

  python -m train --config experiments/zoo/cnn_digits.py --workdir runs/cnn
  python -m train --config experiments/zoo/cnn_digits.py:small \\
      --workdir runs/cnn_small  # tiny model
"""

from experiments import harness
from train.config import base_config


def get_config(arg: str = ''):
  c = base_config()
  c.model.name = 'cnn'
  c.model.variant = 'small'
  c.model.num_classes = 10
  c.model.dropout = 0.3
  c.data.name = 'nnzoo_digits'
  c.data.batch_size = 128
  c.optimizer.name = 'adam'
  c.optimizer.learning_rate = 1e-3
  c.optimizer.schedule = 'cosine'
  c.num_steps = 1500
  c.log_every = 50
  c.eval_every = 500
  c.ckpt_every = 500
  if arg in ('small', 'tiny'):  # a smaller network and a shorter run, for a quick look and tests
    c.model.variant = 'tiny'
    c.model.dropout = 0.0
    c.optimizer.learning_rate = 1e-2
    c.num_steps = 300
    c.eval_every = 100
    c.ckpt_every = 100
  elif arg == 'full':  # LeNet-5 on MNIST (TFDS mnist; point data_dir at where it was built)
    c.model.variant = 'lenet5'
    c.model.dropout = 0.0
    c.data.name = 'mnist'
    c.data.cache = False
    c.num_steps = 9400    # 20 epochs of 60k at batch 128
    c.eval_every = 2000
    c.ckpt_every = 2000
  elif arg:
    raise harness.unknown_argument(arg, '', 'small', 'full', note=' (tiny is small)')
  return c


def get_record():
  from experiments.records import Claim, Paper, Record
  return Record(
      paper=Paper('LeCun, Bottou, Bengio & Haffner', 1998,
                  'Gradient-based learning applied to document recognition',
                  'https://doi.org/10.1109/5.726791', 'Section III.C, Figure 9'),
      metric='MNIST test error (%)',
      paper_value='0.95 (LeNet-5, no distortions)',
      paper_setting='MNIST 28x28, 60k train / 10k test, LeNet-5, 20 passes',
      full_hardware='1 TPU v5e chip or 1 GPU (CPU works: a few minutes)',
      full_time='~2 min on one accelerator',
      claim=Claim(
          statement='a small convolutional network learns handwritten digit classes from pixels',
          setting='digits 8x8 (scikit-learn), 1437 train / 360 test, CNN small, 1500 Adam steps',
          metric='test accuracy', threshold=0.97, direction='>=', seeds=(0, 1, 2),
          eval_key='accuracy', minutes=1.5),
  )
