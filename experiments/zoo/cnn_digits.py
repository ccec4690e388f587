"""CNN on the 8x8 handwritten digits: nnzoo's default experiment.

Model: Conv32 3x3 -> avgpool2 -> Conv64 3x3 -> avgpool2 -> Dense256 -> Dense10, ReLU (LeCun et al.
1998 style; the `small` row of models/cnn.py). Data: scikit-learn's digits (UCI optdigits), 1437
train / 360 test, built offline as the TFDS data set `nnzoo_digits`.

  python -m train --config experiments/zoo/cnn_digits.py --workdir runs/cnn
  python -m train --config experiments/zoo/cnn_digits.py:small --workdir runs/cnn_small  # tiny model
"""

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
  if arg == 'small':  # a smaller network and a shorter run, for a quick look
    c.model.variant = 'tiny'
    c.num_steps = 200
    c.eval_every = 100
    c.ckpt_every = 100
  elif arg:
    raise ValueError(f'unknown argument {arg!r}; use experiments/zoo/cnn_digits.py or ...:small')
  return c
