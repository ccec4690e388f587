"""The baseline CNN of Sabour et al. (2017), its layer pattern at the size of the 8x8 digits.

Sabour, Frosst & Hinton 2017, Section 5: "three convolutional layers of 256, 256, 128 channels ...
5x5 kernels and stride of 1 ... two fully connected layers of size 328, 192 ... dropout ... 10 class
softmax": 35.4M parameters and 0.39% MNIST test error (Table 1), against CapsNet's 0.25% with 8.2M.
On 8x8 digits we keep the pattern (3 SAME convolutions without pooling, Dense 328-192, dropout 0.5)
with 3x3 kernels and a quarter of the channels (64-64-32, what 2 shared CPU cores train in about a
minute): 793k parameters, 1.7x the `digits` CapsNet (472k; the paper's ratio is 4.3x).

  python -m train --config experiments/capsnet/baseline_cnn_digits.py --workdir runs/caps_baseline
  python -m train --config experiments/capsnet/baseline_cnn_digits.py:full --workdir gs://...

'full' is the paper's baseline on TFDS mnist (the `sabour_baseline` row of models/cnn.py, 28x28
shifted by up to 2 pixels is left out: the classification objective has no augmentation).
"""

from experiments import harness
from train.config import base_config


def get_config(arg: str = ''):
  c = base_config()
  c.objective = 'classification'
  c.model.name = 'cnn'
  c.model.variant = 'sabour_baseline'
  c.model.features = (64, 64, 32)
  c.model.kernel = 3
  c.data.name = 'nnzoo_digits'
  c.data.batch_size = 64
  c.optimizer.name = 'adam'
  c.optimizer.learning_rate = 1e-3
  c.optimizer.schedule = 'cosine'
  c.num_steps = 600
  c.log_every = 50
  c.eval_every = 300
  c.ckpt_every = 300
  if arg == 'tiny':
    c.model.features = (8, 8, 4)
    c.model.dense = (16, 16)
    c.data.batch_size = 32
    c.num_steps = 20
    c.eval_every = c.ckpt_every = 0
    c.plots = False
  elif arg == 'full':
    del c.model['features'], c.model['kernel']   # the row's own 256-256-128 5x5
    c.data.name = 'mnist'
    c.data.cache = False
    c.data.batch_size = 128
    c.data.eval_batch_size = 1000
    c.num_steps = 469 * 50
    c.eval_every = c.ckpt_every = 4690
  elif arg:
    raise harness.unknown_argument(arg, '', 'tiny', 'full')
  return c


def get_record():
  from experiments.records import Claim, Paper, Record
  return Record(
      paper=Paper('Sabour, Frosst & Hinton', 2017, 'Dynamic Routing Between Capsules',
                  'https://arxiv.org/abs/1710.09829', 'Table 1 (baseline) and Section 5'),
      metric='MNIST test error (%)',
      paper_value='0.39 (baseline CNN, 35.4M parameters)',
      paper_setting='MNIST 28x28, CNN 256-256-128 5x5 convs + Dense 328-192 + dropout',
      full_hardware='1 GPU or 1 TPU v5e chip',
      full_time='~1 hour (50 epochs of batch 128)',
      claim=Claim(
          statement='the paper\'s baseline CNN pattern is a strong digit classifier (the bar '
                    'CapsNet is compared with)',
          setting='digits 8x8, 1437 train / 360 test, CNN 64-64-32 3x3 SAME (no pooling) + '
                  'Dense 328-192 + dropout 0.5, 793k parameters, 600 Adam steps of batch 64, CPU',
          metric='test accuracy', threshold=0.97, direction='>=', seeds=(0, 1, 2),
          eval_key='accuracy', minutes=4.0),
  )
