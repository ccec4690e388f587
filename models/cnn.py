"""Convolutional network: conv blocks (conv -> [batch norm] -> activation -> pool), then dense.

LeCun, Bottou, Bengio & Haffner 1998, "Gradient-based learning applied to document recognition".
"""

from typing import Sequence

import flax.linen as nn

from models.batch_norm import BatchNorm
from models.conv import Conv
from models.mlp import ACTIVATIONS
from models import pooling


class CNN(nn.Module):
  features: Sequence[int] = (32, 64)
  kernel: int = 3
  padding: str = 'SAME'
  pool: str = 'avg'             # 'avg' | 'max' | 'none'
  dense: Sequence[int] = (256,)
  num_classes: int = 10
  activation: str = 'relu'
  batch_norm: bool = False
  dropout: float = 0.0
  im2col: bool = False         # convs as patches @ kernel (models/conv.py): same numbers;
                               # slower here
  dtype: str = 'float32'        # compute dtype ('bfloat16': mixed precision, float32 parameters;
                                # batch statistics float32, models/batch_norm.py)

  @nn.compact
  def __call__(self, x, train: bool = False):
    act = ACTIVATIONS[self.activation]
    for i, f in enumerate(self.features):
      x = Conv(f, self.kernel, padding=self.padding, im2col=self.im2col, dtype=self.dtype,
               name=f'Conv_{i}')(x)
      if self.batch_norm:
        x = BatchNorm(use_running_average=not train, momentum=0.9)(x)
      x = act(x)
      if self.pool == 'avg':
        x = nn.avg_pool(x, (2, 2), (2, 2))
      elif self.pool == 'max':
        x = pooling.max_pool(x, (2, 2))
    x = x.reshape(x.shape[0], -1)
    for width in self.dense:
      x = act(nn.Dense(width, dtype=self.dtype)(x))
      if self.dropout:
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
    return nn.Dense(self.num_classes, dtype=self.dtype)(x)


VARIANTS = {
    'tiny': (CNN, dict(features=(8, 16), dense=(32,))),
    # The engine issue's `cnn` benchmark workload, also nnzoo's default digits model:
    # Conv32 3x3 SAME ReLU avgpool2, Conv64 3x3 SAME ReLU avgpool2, Dense256 ReLU, Dense10.
    'small': (CNN, dict(features=(32, 64), dense=(256,))),
    # LeNet-5 (LeCun et al. 1998, Fig. 2) with ReLU for tanh and max for subsampling; 28x28 input.
    'lenet5': (CNN, dict(features=(6, 16), kernel=5, padding='VALID', pool='max', dense=(120, 84))),
    # Fashion-MNIST's "2 Conv+pooling" row (the TensorFlow layers tutorial, Xiao et al. 2017's
    # benchmark table): conv 5x5x32 SAME, max-pool 2, conv 5x5x64 SAME, max-pool 2, dense 1024,
    # dropout 0.4; 3.27M parameters on 28x28x1.
    'fashion2conv': (CNN, dict(features=(32, 64), kernel=5, pool='max', dense=(1024,),
                               dropout=0.4)),
    # Four trainable layers before the head (Conv_0-2, Dense_0; head Dense_1) for Yosinski et
    # al. 2014's protocol at small scale on 28x28 (n = 1..4 layers copied between halves).
    'transfer4': (CNN, dict(features=(16, 32, 32), pool='max', dense=(64,))),
    # 'small' with batch norm (Ioffe & Szegedy 2015): exercises the engine's model-state path.
    'small_bn': (CNN, dict(features=(32, 64), dense=(256,), batch_norm=True)),
    # Sabour, Frosst & Hinton 2017, Section 5 baseline (28x28 MNIST): Conv 256, 256, 128 5x5 stride
    # 1 (SAME, no pooling), Dense 328, 192, dropout, softmax: 35.4M parameters, 0.39% error.
    'sabour_baseline': (CNN, dict(features=(256, 256, 128), kernel=5, pool='none',
                                  dense=(328, 192), dropout=0.5)),
}
