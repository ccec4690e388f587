"""The CNN search space of the Fashion-MNIST NAS study, as data, and networks for its members.

An architecture is a tuple of ints: one block op per conv block (2 to 4 blocks), then the index of
the dense layer's width. A block op picks the block's channels, kernel and pooling:
op = (channel * len(KERNELS) + kernel) * len(POOLS) + pool, indices into CHANNELS, KERNELS and
POOLS. A block is conv k x k SAME -> ReLU -> 2x2 pooling (or none); the head is flatten -> dense
WIDTHS[w] -> ReLU -> dropout -> dense 10, the shape of the Fashion table's "2 Conv+pooling" net
(models/cnn.py `fashion2conv`), which is itself a member: (OP(32, 5, 'max'), OP(64, 5, 'max'),
WIDTHS.index(1024)).

`Space(max_params)` is the space under a parameter budget: only architectures with at most
`max_params` parameters are members, indexed 0..size-1 in the order of their code (depth, then
block ops, then width). The Fashion study's budget is the 2-conv net's own count, computed from
its config (experiments/nas/fashion_space.py); the model file takes it as a number.
"""

import dataclasses
import functools
from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from models.conv import Conv
from models import pooling

CHANNELS = (16, 32, 64, 128)
KERNELS = (3, 5)
POOLS = ('max', 'avg', 'none')
WIDTHS = (128, 256, 1024)
DEPTHS = (2, 3, 4)
NUM_OPS = len(CHANNELS) * len(KERNELS) * len(POOLS)    # 24 block ops
DROPOUT = 0.4                                          # the 2-conv net's, after the dense layer


def op(channels: int, kernel: int, pool: str) -> int:
  """The block op of (channels, kernel, pool), e.g. op(32, 5, 'max')."""
  return (CHANNELS.index(channels) * len(KERNELS) + KERNELS.index(kernel)) * len(POOLS) + \
      POOLS.index(pool)


def block(block_op: int) -> tuple[int, int, str]:
  """(channels, kernel, pool) of block op `block_op`."""
  if not 0 <= block_op < NUM_OPS:
    raise ValueError(f'block op {block_op} is not in [0, {NUM_OPS})')
  ck, p = divmod(block_op, len(POOLS))
  c, k = divmod(ck, len(KERNELS))
  return CHANNELS[c], KERNELS[k], POOLS[p]


def validate(arch: Sequence[int]) -> tuple[int, ...]:
  arch = tuple(int(a) for a in arch)
  if len(arch) - 1 not in DEPTHS:
    raise ValueError(f'an architecture is {min(DEPTHS)}-{max(DEPTHS)} block ops then a width '
                     f'index, got {len(arch)} numbers: {arch}')
  for b in arch[:-1]:
    block(b)
  if not 0 <= arch[-1] < len(WIDTHS):
    raise ValueError(f'width index {arch[-1]} is not in [0, {len(WIDTHS)}); widths {WIDTHS}')
  return arch


def describe(arch: Sequence[int]) -> str:
  """'32c5max > 64c5max > dense1024' for humans and plots."""
  arch = validate(arch)
  blocks = [f'{c}c{k}{p}' for c, k, p in map(block, arch[:-1])]
  return ' > '.join(blocks + [f'dense{WIDTHS[arch[-1]]}'])


def num_params(arch: Sequence[int], image_size: int = 28, in_channels: int = 1,
               num_classes: int = 10) -> int:
  """Parameters of SpaceCNN(arch) on image_size x image_size x in_channels inputs."""
  arch = validate(arch)
  n, cin, size = 0, in_channels, image_size
  for c, k, p in map(block, arch[:-1]):
    n += k * k * cin * c + c
    cin, size = c, size if p == 'none' else size // 2
  width = WIDTHS[arch[-1]]
  return n + size * size * cin * width + width + width * num_classes + num_classes


def macs(arch: Sequence[int], image_size: int = 28, in_channels: int = 1,
         num_classes: int = 10) -> int:
  """Multiply-adds of one example's forward pass (convs and dense layers): what a step costs."""
  arch = validate(arch)
  n, cin, size = 0, in_channels, image_size
  for c, k, p in map(block, arch[:-1]):
    n += size * size * k * k * cin * c
    cin, size = c, size if p == 'none' else size // 2
  width = WIDTHS[arch[-1]]
  return n + size * size * cin * width + width * num_classes


# --- Codes: every architecture of the unbounded space as one integer ----------------------------
# Code order: depth, then the block ops as base-NUM_OPS digits (first block most significant), then
# the width. The bounded space's index of an architecture is the rank of its code among the codes
# of members.
_PER_DEPTH = [NUM_OPS ** d * len(WIDTHS) for d in DEPTHS]
_OFFSETS = np.cumsum([0] + _PER_DEPTH)


def code(arch: Sequence[int]) -> int:
  arch = validate(arch)
  c = 0
  for b in arch[:-1]:
    c = c * NUM_OPS + b
  return int(_OFFSETS[DEPTHS.index(len(arch) - 1)]) + c * len(WIDTHS) + arch[-1]


def from_code(c: int) -> tuple[int, ...]:
  if not 0 <= c < _OFFSETS[-1]:
    raise ValueError(f'architecture code {c} is not in [0, {_OFFSETS[-1]})')
  d = int(np.searchsorted(_OFFSETS, c, side='right')) - 1
  rest, width = divmod(int(c - _OFFSETS[d]), len(WIDTHS))
  ops = []
  for _ in range(DEPTHS[d]):
    rest, b = divmod(rest, NUM_OPS)
    ops.append(b)
  return tuple(reversed(ops)) + (width,)


def choices(codes) -> np.ndarray:
  """The choices of architectures (codes, int array [N]) as [N, 1 + 3 * max(DEPTHS)]: the width
  index, then channel, kernel and pool index per block, -1 for the fields of absent blocks. Search
  strategies measure how far apart two architectures are by the fields in which they differ."""
  codes = np.asarray(codes, np.int64)
  depth = np.searchsorted(_OFFSETS, codes, side='right') - 1
  rest, width = np.divmod(codes - _OFFSETS[depth], len(WIDTHS))
  out = np.full((len(codes), 1 + 3 * max(DEPTHS)), -1, np.int64)
  out[:, 0] = width
  depths = np.asarray(DEPTHS)[depth]
  for slot in reversed(range(max(DEPTHS))):
    here = slot < depths
    digit = np.where(here, rest % NUM_OPS, -1)
    rest = np.where(here, rest // NUM_OPS, rest)
    ck, p = np.divmod(digit, len(POOLS))
    c, k = np.divmod(ck, len(KERNELS))
    out[:, 1 + 3 * slot:4 + 3 * slot] = np.where(here[:, None], np.stack([c, k, p], 1), -1)
  return out


def _all_num_params(image_size, in_channels, num_classes) -> np.ndarray:
  """num_params of every code of the unbounded space, vectorized [codes]."""
  counts = []
  chans = np.repeat(np.asarray(CHANNELS), len(KERNELS) * len(POOLS))       # per block op
  kerns = np.tile(np.repeat(np.asarray(KERNELS), len(POOLS)), len(CHANNELS))
  pooled = np.tile(np.asarray([p != 'none' for p in POOLS]), len(CHANNELS) * len(KERNELS))
  widths = np.asarray(WIDTHS)
  for depth in DEPTHS:
    grids = np.meshgrid(*[np.arange(NUM_OPS)] * depth, indexing='ij')
    ops = [g.ravel() for g in grids]
    n = np.zeros(NUM_OPS ** depth, np.int64)
    cin, size = np.full_like(n, in_channels), np.full_like(n, image_size)
    for b in ops:
      n += kerns[b] ** 2 * cin * chans[b] + chans[b]
      cin, size = chans[b], np.where(pooled[b], size // 2, size)
    flat = size * size * cin
    total = n[:, None] + flat[:, None] * widths + widths + widths * num_classes + num_classes
    counts.append(total.ravel())
  return np.concatenate(counts)


@functools.lru_cache(maxsize=8)
def _member_codes(max_params, image_size, in_channels, num_classes) -> np.ndarray:
  counts = _all_num_params(image_size, in_channels, num_classes)
  return np.flatnonzero(counts <= max_params)


@dataclasses.dataclass(frozen=True)
class Space:
  """The architectures with at most `max_params` parameters, indexed both ways."""
  max_params: int
  image_size: int = 28
  in_channels: int = 1
  num_classes: int = 10

  @property
  def codes(self) -> np.ndarray:
    """The members' codes in index order (sorted) [size]."""
    return _member_codes(self.max_params, self.image_size, self.in_channels, self.num_classes)

  @property
  def size(self) -> int:
    return len(self.codes)

  def num_params(self, arch) -> int:
    return num_params(arch, self.image_size, self.in_channels, self.num_classes)

  def __contains__(self, arch) -> bool:
    try:
      return self.num_params(arch) <= self.max_params
    except ValueError:
      return False

  def index(self, arch) -> int:
    arch = validate(arch)
    if arch not in self:
      raise ValueError(f'{describe(arch)} has {self.num_params(arch):,} parameters, over the '
                       f"space's {self.max_params:,}")
    return int(np.searchsorted(self.codes, code(arch)))

  def from_index(self, i: int) -> tuple[int, ...]:
    if not 0 <= i < self.size:
      raise ValueError(f'architecture index {i} is not in [0, {self.size})')
    return from_code(int(self.codes[i]))

  def sample(self, n: int, seed: int = 0) -> list[tuple[int, ...]]:
    """n distinct members drawn uniformly, in index order."""
    picks = np.sort(np.random.default_rng(seed).choice(self.size, n, replace=False))
    return [self.from_index(int(i)) for i in picks]


class SpaceCNN(nn.Module):
  """The discrete network that architecture `arch` names (see the module docstring)."""
  arch: Sequence[int] = (op(16, 3, 'max'), op(16, 3, 'max'), 0)
  num_classes: int = 10
  dropout: float = DROPOUT
  im2col: bool = False          # models/conv.py: the same numbers either way
  dtype: str = 'float32'        # compute dtype ('bfloat16': mixed precision, float32 parameters)

  @nn.compact
  def __call__(self, x, train: bool = False):
    arch = validate(self.arch)
    for i, (c, k, p) in enumerate(map(block, arch[:-1])):
      x = nn.relu(Conv(c, k, padding='SAME', im2col=self.im2col, dtype=self.dtype,
                       name=f'Conv_{i}')(x))
      if p == 'max':
        x = pooling.max_pool(x, (2, 2))
      elif p == 'avg':
        x = nn.avg_pool(x, (2, 2), (2, 2))
    x = x.reshape(x.shape[0], -1)
    x = nn.relu(nn.Dense(WIDTHS[arch[-1]], dtype=self.dtype, name='Dense_0')(x))
    if self.dropout:
      x = nn.Dropout(self.dropout, deterministic=not train)(x)
    return nn.Dense(self.num_classes, dtype=self.dtype, name='Dense_1')(x)


class PopulationCNN(nn.Module):
  """Many architectures of the space in one network: logits [P, B, num_classes] for P candidates.

  Candidate p is SpaceCNN(arch=archs[p]) with its own parameters (under 'candidate_p'), all on
  the same batch, so one jitted engine step (objective `population`) trains all of them: the
  step differentiates the sum of the candidates' losses, so each gets the gradient it would get
  alone. Candidates of different shapes are not padded to a common one: on a CPU, where the
  cost is the arithmetic, every candidate then costs exactly its own convolutions.
  """
  archs: Sequence[Sequence[int]] = ()
  num_classes: int = 10
  dropout: float = DROPOUT
  im2col: bool = False
  dtype: str = 'float32'

  @nn.compact
  def __call__(self, x, train: bool = False):
    if not self.archs:
      raise ValueError('PopulationCNN needs its candidates: config.model.archs = a tuple of '
                       'architectures (models/nas_cnn.py)')
    logits = [SpaceCNN(arch=tuple(a), num_classes=self.num_classes, dropout=self.dropout,
                       im2col=self.im2col, dtype=self.dtype, name=f'candidate_{p}')(x, train)
              for p, a in enumerate(self.archs)]
    return jnp.stack(logits)


_M, _A = 'max', 'avg'
VARIANTS = {
    'tiny': (SpaceCNN, dict(arch=(op(16, 3, _M), op(16, 3, _M), 0))),
    # The Fashion table's "2 Conv+pooling" net as a member of the space (3,274,634 parameters on
    # 28x28x1: the space's bound in the Fashion study).
    'fashion2conv': (SpaceCNN, dict(arch=(op(32, 5, _M), op(64, 5, _M), WIDTHS.index(1024)))),
    # Four candidates at once, of every depth, pooling and kernel (tests).
    'population_tiny': (PopulationCNN, dict(archs=(
        (op(16, 3, _M), op(16, 5, _A), 0),
        (op(16, 5, 'none'), op(32, 3, _M), op(16, 3, _A), 1),
        (op(16, 3, _A), op(16, 3, _M), op(32, 5, _M), op(16, 3, 'none'), 0),
        (op(32, 5, _M), op(16, 3, _M), 2)))),
    # The candidates come from the config (experiments/nas/make_fashion_table.py).
    'population': (PopulationCNN, dict(archs=())),
}
