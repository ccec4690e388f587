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
import jax
import jax.numpy as jnp
import numpy as np

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
  dtype: str = 'float32'        # compute dtype ('bfloat16': mixed precision, float32 parameters)

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train
    x = x.reshape(x.shape[0], -1)
    for op in validate(self.arch):
      layer = op_layer(op)
      if layer is not None:
        width, act = layer
        x = ACTIVATIONS[act](nn.Dense(width, dtype=self.dtype)(x))
    return nn.Dense(self.num_classes, dtype=self.dtype)(x)


# --- Many candidates as one network --------------------------------------------------------------
# Every architecture of the space is the same padded network: each layer is PAD wide, units beyond
# the layer's width are zeroed after the activation, and an absent layer is the identity (the 8x8
# digits input is 64 = PAD wide). So a population of candidates is one stack of same-shaped
# parameters with a leading population axis, trained by one vmapped, jitted step (and sharded over
# the mesh along that axis) instead of one compiled program per architecture.
PAD = max(WIDTHS)
_OP_WIDTH = np.array([0] + [w for w in WIDTHS for _ in ACTIVATION_NAMES], np.int32)
_OP_ACT = np.array([0] + [a for _ in WIDTHS for a in range(len(ACTIVATION_NAMES))], np.int32)
# nn.Dense's default kernel init (lecun_normal): a normal truncated to [-2, 2] rescaled to
# variance 1 / fan_in; this is the truncated normal's standard deviation.
_TRUNCATED_STD = .87962566103423978


def live_shapes(arch: Sequence[int], features: int = PAD,
                num_classes: int = 10) -> list[tuple[int, int] | None]:
  """(fan_in, fan_out) of the live block of each hidden layer (None if absent) and the output."""
  shapes, width = [], features
  for op in validate(arch):
    layer = op_layer(op)
    shapes.append(None if layer is None else (width, layer[0]))
    width = width if layer is None else layer[0]
  return shapes + [(width, num_classes)]


def _live_init(archs, features, num_classes):
  """Initializers whose live blocks have SpaceMLP's (lecun_normal) distribution; dead entries 0."""
  mask_h = np.zeros((len(archs), LAYERS, PAD, PAD), np.float32)
  mask_o = np.zeros((len(archs), PAD, num_classes), np.float32)
  for p, arch in enumerate(archs):
    *hidden, (fan_in, _) = live_shapes(arch, features, num_classes)
    for l, shape in enumerate(hidden):
      if shape is not None:
        mask_h[p, l, :shape[0], :shape[1]] = 1 / np.sqrt(shape[0]) / _TRUNCATED_STD
    mask_o[p, :fan_in, :] = 1 / np.sqrt(fan_in) / _TRUNCATED_STD

  def init(scale):
    def f(rng, shape, dtype=jnp.float32):
      return jax.random.truncated_normal(rng, -2., 2., shape, dtype) * jnp.asarray(scale, dtype)
    return f
  return init(mask_h), init(mask_o)


def padded_logits(params, ops, x):
  """One candidate's logits: the padded network that computes what SpaceMLP(arch=ops) computes.

  params: {'hidden_kernel' [LAYERS, PAD, PAD], 'hidden_bias' [LAYERS, PAD], 'out_kernel'
  [PAD, C], 'out_bias' [C]}; ops: int [LAYERS] (traced, so one program serves every arch);
  x: [B, PAD]. Dead weights get zero gradient (their inputs or outputs are zero), so under an
  elementwise optimizer (Adam, SGD) each candidate trains exactly as its SpaceMLP would.
  """
  units = jnp.arange(PAD)
  h = x
  for l in range(LAYERS):
    op = ops[l]
    z = h @ params['hidden_kernel'][l] + params['hidden_bias'][l]
    # One transcendental for both smooth activations: sigmoid(z) = (1 + tanh(z / 2)) / 2.
    act = jnp.asarray(_OP_ACT)[op]
    t = jnp.tanh(jnp.where(act == 2, 0.5, 1.0) * z)
    a = jnp.where(act == 0, nn.relu(z), jnp.where(act == 2, 0.5 + 0.5 * t, t))
    a = jnp.where(units < jnp.asarray(_OP_WIDTH)[op], a, 0.)
    h = jnp.where(op > 0, a, h)
  return h @ params['out_kernel'] + params['out_bias']


class PopulationMLP(nn.Module):
  """Many architectures of the space at once: logits [P, B, num_classes] for P candidates.

  Parameters carry a leading population axis (P, ...); `jax.vmap(padded_logits)` runs every
  candidate on the same batch. The candidates' op codes live in the non-trained collection
  'arch' (so they travel with, and are sharded like, the parameters). Candidate p, with the same
  live weights, computes exactly SpaceMLP(arch=archs[p]) and starts from its init distribution.
  """
  archs: Sequence[Sequence[int]] = ()   # () = the whole space, in index order
  num_classes: int = 10
  dtype: str = 'float32'                # compute dtype; the parameters stay float32

  def population(self) -> list[tuple[int, ...]]:
    return [validate(a) for a in self.archs] if self.archs else all_architectures()

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train
    archs = self.population()
    x = x.reshape(x.shape[0], -1)
    if x.shape[-1] > PAD:
      raise ValueError(f'PopulationMLP needs inputs of at most {PAD} features (an absent layer '
                       f'is the identity), got {x.shape[-1]}')
    features = x.shape[-1]
    x = jnp.pad(x, ((0, 0), (0, PAD - features)))
    ops = self.variable('arch', 'ops', lambda: jnp.asarray(archs, jnp.int32)).value
    init_h, init_o = _live_init(archs, features, self.num_classes)
    n = len(archs)
    params = {
        'hidden_kernel': self.param('hidden_kernel', init_h, (n, LAYERS, PAD, PAD)),
        'hidden_bias': self.param('hidden_bias', nn.initializers.zeros, (n, LAYERS, PAD)),
        'out_kernel': self.param('out_kernel', init_o, (n, PAD, self.num_classes)),
        'out_bias': self.param('out_bias', nn.initializers.zeros, (n, self.num_classes)),
    }
    params = jax.tree.map(lambda p: p.astype(self.dtype), params)
    return jax.vmap(padded_logits, in_axes=(0, 0, None))(params, ops, x.astype(self.dtype))


# Sharding rule that puts the population axis of every parameter (and of Adam's moments, which
# end in the same paths) over the mesh's 'model' axis; with config.mesh = {'data': 1, 'model': -1}
# each device trains P / devices candidates on the whole (replicated) batch.
POPULATION_SHARDING = ((r'(hidden_kernel|hidden_bias|out_kernel|out_bias|ops)$', ('model',)),)


VARIANTS = {
    'tiny': (SpaceMLP, dict(arch=(1, 0, 0))),
    # The widest member of the space: three ReLU layers of 64.
    'widest': (SpaceMLP, dict(arch=(7, 7, 7))),
    # Eight candidates trained at once (one per fake test device), a mix of every op kind.
    'population_tiny': (PopulationMLP, dict(archs=((0, 0, 0), (1, 0, 0), (2, 5, 0), (3, 0, 9),
                                                   (7, 7, 7), (0, 8, 4), (9, 6, 3), (4, 4, 0)))),
    # The whole space: the tabular benchmark's population (experiments/nas/make_table.py).
    'population': (PopulationMLP, dict(archs=())),
}
