"""Feedforward network (multi-layer perceptron).

Rumelhart, Hinton & Williams 1986, "Learning representations by back-propagating errors".

Every family takes `dtype` as the Transformer LM does: 'bfloat16' computes the layers in bf16
while the parameters stay float32 (flax casts them at each use; their gradients come back in
float32), and the objective casts the outputs to float32 before the loss and its softmax.
"""

from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

ACTIVATIONS = {'relu': nn.relu, 'tanh': jnp.tanh, 'sigmoid': nn.sigmoid, 'gelu': nn.gelu}


class MLP(nn.Module):
  """Flattens its input, then Dense -> activation (-> dropout) per hidden layer, then a head."""
  hidden: Sequence[int] = (512, 512)
  num_classes: int = 10
  activation: str = 'relu'
  dropout: float = 0.0
  dtype: str = 'float32'        # compute dtype ('bfloat16': mixed precision, float32 parameters)

  @nn.compact
  def __call__(self, x, train: bool = False):
    x = x.reshape(x.shape[0], -1)
    for width in self.hidden:
      x = ACTIVATIONS[self.activation](nn.Dense(width, dtype=self.dtype)(x))
      if self.dropout:
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
    return nn.Dense(self.num_classes, dtype=self.dtype)(x)


VARIANTS = {
    'tiny': (MLP, dict(hidden=(32,))),
    # The engine issue's `mlp` benchmark workload: 784-512-512-10 ReLU.
    'bench': (MLP, dict(hidden=(512, 512))),
    # LeCun et al. 1998 ("Gradient-based learning ...", Table: 2-layer NN, 300 hidden units).
    'lecun300': (MLP, dict(hidden=(300,))),
    # Fashion-MNIST's "MLP 256-128-100" row (Xiao et al. 2017's benchmark table).
    'fashion256': (MLP, dict(hidden=(256, 128, 100))),
}
