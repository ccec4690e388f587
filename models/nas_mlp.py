"""The small MLP search space of the NAS study, as data.

An architecture is a tuple of `LAYERS` ints, one per hidden layer, each an index into `OPS`:
0 means the layer is absent (dropped, so the next layer reads the previous features), any other
index picks a width and an activation. With 3 layers and 10 ops that is exactly 1000
architectures, small enough to train every one of them (the study's tabular benchmark) and big
enough that search strategies differ.
"""

import itertools
from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp

WIDTHS = (16, 32, 64)
ACTIVATION_NAMES = ('relu', 'tanh', 'sigmoid')
ACTIVATIONS = {'relu': nn.relu, 'tanh': jnp.tanh, 'sigmoid': nn.sigmoid}
# Op 0 is 'absent'; op 1 + 3 * w + a is (WIDTHS[w], ACTIVATION_NAMES[a]).
OPS = ('absent',) + tuple(f'{act}-{width}' for width in WIDTHS for act in ACTIVATION_NAMES)
LAYERS = 3


def op_layer(op: int) -> tuple[int, str] | None:
  """(width, activation) of op index `op`, or None for the absent layer."""
  if not 0 <= op < len(OPS):
    raise ValueError(f'op {op} is not in [0, {len(OPS)}); ops: {", ".join(OPS)}')
  if op == 0:
    return None
  w, a = divmod(op - 1, len(ACTIVATION_NAMES))
  return WIDTHS[w], ACTIVATION_NAMES[a]


def validate(arch: Sequence[int]) -> tuple[int, ...]:
  arch = tuple(int(op) for op in arch)
  if len(arch) != LAYERS:
    raise ValueError(f'an architecture has {LAYERS} ops (one per layer), got {len(arch)}: {arch}')
  for op in arch:
    op_layer(op)
  return arch


def describe(arch: Sequence[int]) -> str:
  """'relu-64 > absent > tanh-16' for humans and plots."""
  return ' > '.join(OPS[op] for op in validate(arch))


def all_architectures() -> list[tuple[int, ...]]:
  """Every architecture of the space, in index order (`index(arch)` is its position)."""
  return list(itertools.product(range(len(OPS)), repeat=LAYERS))


def index(arch: Sequence[int]) -> int:
  arch = validate(arch)
  i = 0
  for op in arch:
    i = i * len(OPS) + op
  return i


def from_index(i: int) -> tuple[int, ...]:
  size = len(OPS) ** LAYERS
  if not 0 <= i < size:
    raise ValueError(f'architecture index {i} is not in [0, {size})')
  ops = []
  for _ in range(LAYERS):
    i, op = divmod(i, len(OPS))
    ops.append(op)
  return tuple(reversed(ops))


class SpaceMLP(nn.Module):
  """The discrete network that architecture `arch` names: Dense -> activation per present layer."""
  arch: Sequence[int] = (0, 0, 0)
  num_classes: int = 10

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train
    x = x.reshape(x.shape[0], -1)
    for op in validate(self.arch):
      layer = op_layer(op)
      if layer is not None:
        width, act = layer
        x = ACTIVATIONS[act](nn.Dense(width)(x))
    return nn.Dense(self.num_classes)(x)


VARIANTS = {
    'tiny': (SpaceMLP, dict(arch=(1, 0, 0))),
    # The widest member of the space: three ReLU layers of 64.
    'widest': (SpaceMLP, dict(arch=(7, 7, 7))),
}
