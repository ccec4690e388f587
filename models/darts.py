"""DARTS (Liu, Simonyan & Yang, ICLR 2019): search spaces relaxed to mixtures, and their discrete
nets.

A mixed operation replaces a choice among K candidate operations by their softmax-weighted sum,
sum_k softmax(alpha)_k op_k(x) (the paper's Eq. 1); the architecture weights alpha are parameters
named `alpha*` at the top of each supernet, so the DARTS objective (train/objectives/darts.py)
can train them on validation batches and everything else on training batches. After the search
the architecture is read off alpha (`derive`): the strongest op per choice.

Two spaces:
  * `SuperMLP`: the small MLP space of models/nas_mlp.py (per layer one of 10 ops: absent, or a
    Dense of width 16/32/64 with relu/tanh/sigmoid). Each layer is a mixed op over those 10; every
    op's output is zero-padded to a common width (64, or the input width if larger) so they can be
    summed, and 'absent' is the identity. `derive` gives an arch tuple of models/nas_mlp.py, which
    `nas_mlp.SpaceMLP` trains as a discrete network.
  * `SearchNetwork`: the DARTS convolutional cell space (Section 2.1, 3.1.1). A cell has two input
    nodes (the outputs of the two previous cells) and `steps` intermediate nodes; every node is
    the sum of mixed ops over all earlier nodes; the cell's output concatenates the intermediate
    nodes. Normal cells keep the resolution, reduction cells (at 1/3 and 2/3 of the depth) halve
    it with stride-2 ops on the edges from the input nodes and double the channels. All normal
    cells share one alpha, all reduction cells another. `derive` applies the paper's rule: per
    node keep the 2 strongest incoming edges, scored by their strongest op other than 'none', each
    with that op. `GenotypeNetwork` is the discrete network a genotype names (the evaluation
    phase: more cells, more channels, drop path, auxiliary head, cutout).

Ops: `CELL_OPS` is the small set of this study ({none, skip, conv 1x1, conv 3x3, max pool 3x3,
avg pool 3x3}; plain ReLU-Conv-BN convolutions, cheaper on CPU); `PAPER_OPS` are the paper's eight
(separable and dilated convolutions), which the full-scale config uses. Batch norm in the search
network has no affine parameters, as in the paper's search (so the op scale is alpha's alone).

`dtype='bfloat16'` computes every op in bf16 with float32 parameters (batch-norm statistics in
float32); the softmax of alpha, the mixing weights, is taken in float32 and then rounded to bf16
for the weighted sum, so alpha and its gradient stay float32 like every parameter.
"""

import collections
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from models import nas_mlp

CELL_OPS = ('none', 'skip_connect', 'conv_1x1', 'conv_3x3', 'max_pool_3x3', 'avg_pool_3x3')
PAPER_OPS = ('none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3',
             'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5')
# Ops without weights: the ones DARTS is known to drift toward (Zela et al. 2020). 'absent' is the
# MLP space's identity layer.
PARAMETER_FREE = frozenset({'none', 'skip_connect', 'max_pool_3x3', 'avg_pool_3x3', 'absent'})

# A genotype: per cell type, 2 (op name, input node) pairs per intermediate node; the nodes whose
# concatenation is the cell output. Node 0, 1 are the cell's inputs, 2.. the intermediate nodes.
Genotype = collections.namedtuple('Genotype', 'normal normal_concat reduce reduce_concat')


def _bn(train, affine, dtype='float32'):
  # PyTorch's BatchNorm momentum 0.1 is flax's 0.9.
  return nn.BatchNorm(use_running_average=not train, momentum=0.9, use_scale=affine,
                      use_bias=affine, dtype=dtype)


def _conv(features, kernel, stride=1, dilation=1, groups=1, dtype='float32'):
  pad = dilation * (kernel - 1) // 2
  return nn.Conv(features, (kernel, kernel), strides=(stride, stride), padding=((pad, pad),) * 2,
                 kernel_dilation=(dilation, dilation), feature_group_count=groups, use_bias=False,
                 dtype=dtype)


class _ConvOp(nn.Module):
  """The fields of the conv ops: `features` out, a `kernel` x `kernel` window, `stride` 1 or 2,
  BatchNorm with a learned scale and bias when `affine`."""
  features: int
  kernel: int
  stride: int = 1
  affine: bool = True
  dtype: str = 'float32'


class ReLUConvBN(_ConvOp):
  """ReLU, conv, BN (the paper's conv ops and the cells' preprocessing)."""

  @nn.compact
  def __call__(self, x, train):
    y = _conv(self.features, self.kernel, self.stride, dtype=self.dtype)(nn.relu(x))
    return _bn(train, self.affine, self.dtype)(y)


class SepConv(_ConvOp):
  """Depthwise-separable conv applied twice (the paper's sep_conv), stride on the first."""

  @nn.compact
  def __call__(self, x, train):
    for stride, out in ((self.stride, x.shape[-1]), (1, self.features)):
      x = _conv(x.shape[-1], self.kernel, stride, groups=x.shape[-1], dtype=self.dtype)(
          nn.relu(x))
      x = _bn(train, self.affine, self.dtype)(_conv(out, 1, dtype=self.dtype)(x))
    return x


class DilConv(_ConvOp):
  """ReLU, dilated depthwise conv (dilation 2), pointwise conv, BN (the paper's dil_conv)."""

  @nn.compact
  def __call__(self, x, train):
    x = _conv(x.shape[-1], self.kernel, self.stride, 2, groups=x.shape[-1], dtype=self.dtype)(
        nn.relu(x))
    return _bn(train, self.affine, self.dtype)(_conv(self.features, 1, dtype=self.dtype)(x))


class FactorizedReduce(nn.Module):
  """Halves the resolution with two offset 1x1 stride-2 convs (the stride-2 skip connection)."""
  features: int
  affine: bool = True
  dtype: str = 'float32'

  @nn.compact
  def __call__(self, x, train):
    x = nn.relu(x)
    half = self.features // 2
    a = nn.Conv(half, (1, 1), strides=(2, 2), use_bias=False, dtype=self.dtype)(x)
    b = nn.Conv(self.features - half, (1, 1), strides=(2, 2), use_bias=False,
                dtype=self.dtype)(x[:, 1:, 1:])
    return _bn(train, self.affine, self.dtype)(jnp.concatenate([a, b], -1))


class Op(nn.Module):
  """One candidate operation by name, `features` channels out, `stride` 1 or 2."""
  op: str
  features: int
  stride: int = 1
  affine: bool = True
  dtype: str = 'float32'

  @nn.compact
  def __call__(self, x, train):
    n, s, c, affine, dt = self.op, self.stride, self.features, self.affine, self.dtype
    if n == 'none':
      return jnp.zeros_like(x[:, ::s, ::s])
    if n == 'skip_connect':
      return x if s == 1 else FactorizedReduce(c, affine, dt)(x, train)
    if n in ('max_pool_3x3', 'avg_pool_3x3'):
      pad = ((1, 1), (1, 1))
      if n == 'max_pool_3x3':
        y = nn.max_pool(x, (3, 3), (s, s), pad)
      else:
        y = nn.avg_pool(x, (3, 3), (s, s), pad, count_include_pad=False)
      # The paper's search network puts an affine-free BN after pooling, to match the conv ops.
      return y if affine else _bn(train, False, dt)(y)
    if n in ('conv_1x1', 'conv_3x3'):
      return ReLUConvBN(c, int(n[-1]), s, affine, dt)(x, train)
    if n in ('sep_conv_3x3', 'sep_conv_5x5'):
      return SepConv(c, int(n[-1]), s, affine, dt)(x, train)
    if n in ('dil_conv_3x3', 'dil_conv_5x5'):
      return DilConv(c, int(n[-1]), s, affine, dt)(x, train)
    raise ValueError(f'unknown op {n!r}; known: {", ".join(sorted(set(CELL_OPS + PAPER_OPS)))}')


class MixedOp(nn.Module):
  """sum_k w_k op_k(x) over the candidate ops (w = softmax(alpha) of this edge)."""
  ops: Sequence[str]
  features: int
  stride: int = 1
  dtype: str = 'float32'

  @nn.compact
  def __call__(self, x, weights, train):
    out = 0.0
    weights = weights.astype(self.dtype)
    for k, name in enumerate(self.ops):
      if name == 'none':   # w * 0 adds nothing ('none' still competes through the softmax)
        continue
      out = out + weights[k] * Op(name, self.features, self.stride, affine=False,
                                  dtype=self.dtype)(x, train)
    if isinstance(out, float):
      out = jnp.zeros_like(x[:, ::self.stride, ::self.stride])
    return out


def _preprocess(s0, s1, features, reduction_prev, affine, train, dtype='float32'):
  """Both cell inputs to `features` channels and the same resolution."""
  if reduction_prev:   # s0 has twice the resolution of s1
    s0 = FactorizedReduce(features, affine, dtype)(s0, train)
  else:
    s0 = ReLUConvBN(features, 1, affine=affine, dtype=dtype)(s0, train)
  return s0, ReLUConvBN(features, 1, affine=affine, dtype=dtype)(s1, train)


class SearchCell(nn.Module):
  ops: Sequence[str]
  features: int
  steps: int
  reduction: bool
  reduction_prev: bool
  dtype: str = 'float32'

  @nn.compact
  def __call__(self, s0, s1, weights, train):
    s0, s1 = _preprocess(s0, s1, self.features, self.reduction_prev, False, train, self.dtype)
    states, offset = [s0, s1], 0
    for _ in range(self.steps):
      s = sum(MixedOp(self.ops, self.features, 2 if self.reduction and j < 2 else 1, self.dtype)(
          h, weights[offset + j], train) for j, h in enumerate(states))
      offset += len(states)
      states.append(s)
    return jnp.concatenate(states[2:], -1)


def num_edges(steps: int) -> int:
  return sum(2 + i for i in range(steps))


def _stem(x, channels, train, dtype='float32'):
  if x.ndim == 3:
    x = x[..., None]
  return _bn(train, True, dtype)(_conv(channels, 3, dtype=dtype)(x))


def _reductions(layers):
  return (layers // 3, 2 * layers // 3)


class SearchNetwork(nn.Module):
  """The DARTS search network: stem, `layers` cells (reductions at 1/3 and 2/3), pool,
  classifier."""
  num_classes: int = 10
  channels: int = 16          # C, the first cells' channels per node
  layers: int = 8
  steps: int = 4              # intermediate nodes per cell
  stem_multiplier: int = 3
  ops: Sequence[str] = CELL_OPS
  alpha_init: float = 1e-3    # alpha ~ alpha_init * N(0, 1), as in the paper's code
  dtype: str = 'float32'      # compute dtype ('bfloat16': mixed precision, float32 parameters)

  @nn.compact
  def __call__(self, x, train: bool = False):
    shape = (num_edges(self.steps), len(self.ops))
    init = nn.initializers.normal(self.alpha_init)
    alpha_normal = self.param('alpha_normal', init, shape)
    alpha_reduce = self.param('alpha_reduce', init, shape)
    s0 = s1 = _stem(x, self.stem_multiplier * self.channels, train, self.dtype)
    c, reduction_prev = self.channels, False
    for i in range(self.layers):
      reduction = i in _reductions(self.layers)
      c = c * 2 if reduction else c
      weights = jax.nn.softmax(alpha_reduce if reduction else alpha_normal, -1)
      cell = SearchCell(self.ops, c, self.steps, reduction, reduction_prev, self.dtype)
      s0, s1 = s1, cell(s0, s1, weights, train)
      reduction_prev = reduction
    return nn.Dense(self.num_classes, dtype=self.dtype)(s1.mean((1, 2)))


def _drop_path(module, x, rate, train):
  """Drops the whole op output per example (Zoph et al. 2018), scaling the kept ones."""
  if not train or rate <= 0:
    return x
  keep = jax.random.bernoulli(module.make_rng('dropout'), 1 - rate, (x.shape[0], 1, 1, 1))
  return jnp.where(keep, x / (1 - rate), 0)


class GenotypeCell(nn.Module):
  genotype_ops: Sequence        # ((op, input), ...), 2 per node
  concat: Sequence[int]
  features: int
  reduction: bool
  reduction_prev: bool
  drop_path: float = 0.0
  dtype: str = 'float32'

  @nn.compact
  def __call__(self, s0, s1, train):
    s0, s1 = _preprocess(s0, s1, self.features, self.reduction_prev, True, train, self.dtype)
    states = [s0, s1]
    for node in range(len(self.genotype_ops) // 2):
      total = 0.0
      for name, j in self.genotype_ops[2 * node: 2 * node + 2]:
        stride = 2 if self.reduction and j < 2 else 1
        h = Op(name, self.features, stride, dtype=self.dtype)(states[j], train)
        if name != 'skip_connect' or stride != 1:   # the paper drops all but identities
          h = _drop_path(self, h, self.drop_path, train)
        total = total + h
      states.append(total)
    return jnp.concatenate([states[i] for i in self.concat], -1)


class AuxiliaryHead(nn.Module):
  """Classifier on the features at 2/3 depth (Szegedy et al. 2015), for an extra training loss."""
  num_classes: int
  dtype: str = 'float32'

  @nn.compact
  def __call__(self, x, train):
    dt = self.dtype
    x = nn.relu(x)
    size = x.shape[1]
    x = nn.avg_pool(x, (5, 5), (3, 3)) if size >= 5 else x
    x = nn.relu(_bn(train, True, dt)(nn.Conv(128, (1, 1), use_bias=False, dtype=dt)(x)))
    x = nn.relu(_bn(train, True, dt)(nn.Conv(768, x.shape[1:3], padding='VALID', use_bias=False,
                                             dtype=dt)(x)))
    return nn.Dense(self.num_classes, dtype=dt)(x.reshape(x.shape[0], -1))


def augment(x, rng, pad: int, cutout: int):
  """Random crop after zero-padding by `pad`, horizontal flip, and a `cutout` x `cutout` zeroed
  square (DeVries & Taylor 2017) per image: the paper's CIFAR-10 training augmentation, on
  device so that the input pipeline stays augmentation-free."""
  n, h, w, _ = x.shape
  k_crop, k_flip, k_cut = jax.random.split(rng, 3)
  if pad:
    padded = jnp.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    offsets = jax.random.randint(k_crop, (n, 2), 0, 2 * pad + 1)
    x = jax.vmap(lambda img, o: jax.lax.dynamic_slice(img, (o[0], o[1], 0), (h, w, x.shape[-1])))(
        padded, offsets)
    flip = jax.random.bernoulli(k_flip, 0.5, (n, 1, 1, 1))
    x = jnp.where(flip, x[:, :, ::-1], x)
  if cutout:   # rows/cols [centre - cutout // 2, centre + cutout // 2), clipped at the border
    centre = jax.random.randint(k_cut, (n, 2, 1), 0, jnp.array([[h], [w]]))
    half = cutout // 2
    rows = jnp.abs(jnp.arange(h)[None] - centre[:, 0] + 0.5) <= half   # [n, h]
    cols = jnp.abs(jnp.arange(w)[None] - centre[:, 1] + 0.5) <= half   # [n, w]
    x = jnp.where((rows[:, :, None] & cols[:, None, :])[..., None], 0.0, x)
  return x


class GenotypeNetwork(nn.Module):
  """The discrete network of a genotype (the paper's evaluation network, NetworkCIFAR).

  `genotype` is (normal, normal_concat, reduce, reduce_concat) as `Genotype` holds it, nested
  tuples so that it fits a config (`--config.model.genotype="((('conv_3x3', 0), ...), ...)"`).
  Training with `auxiliary` returns (logits, auxiliary logits); the classification objective
  adds objective_args.aux_weight times the auxiliary head's loss.
  """
  genotype: Sequence = ()
  num_classes: int = 10
  channels: int = 36
  layers: int = 20
  stem_multiplier: int = 3
  drop_path: float = 0.0
  auxiliary: bool = False
  augment_pad: int = 0          # > 0: random crop of the zero-padded image and flips (training)
  cutout: int = 0               # > 0: cutout square side (training)
  dtype: str = 'float32'        # compute dtype ('bfloat16': mixed precision, float32 parameters)

  @nn.compact
  def __call__(self, x, train: bool = False):
    g = Genotype(*self.genotype)
    if x.ndim == 3:
      x = x[..., None]
    if train and (self.augment_pad or self.cutout):
      x = augment(x, self.make_rng('dropout'), self.augment_pad, self.cutout)
    s0 = s1 = _stem(x, self.stem_multiplier * self.channels, train, self.dtype)
    c, reduction_prev, aux = self.channels, False, None
    for i in range(self.layers):
      reduction = i in _reductions(self.layers)
      c = c * 2 if reduction else c
      ops, concat = (g.reduce, g.reduce_concat) if reduction else (g.normal, g.normal_concat)
      cell = GenotypeCell(tuple(map(tuple, ops)), tuple(concat), c, reduction, reduction_prev,
                          self.drop_path, self.dtype)
      s0, s1 = s1, cell(s0, s1, train)
      reduction_prev = reduction
      if self.auxiliary and i == 2 * self.layers // 3:
        aux = AuxiliaryHead(self.num_classes, self.dtype)(s1, train)
    logits = nn.Dense(self.num_classes, dtype=self.dtype)(s1.mean((1, 2)))
    return (logits, aux) if train and aux is not None else logits


class SuperMLP(nn.Module):
  """The MLP space of models/nas_mlp.py as one network: per layer a mixed op over its 10 ops."""
  num_classes: int = 10
  layers: int = nas_mlp.LAYERS
  alpha_init: float = 1e-3
  dtype: str = 'float32'      # compute dtype ('bfloat16': mixed precision, float32 parameters)

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train
    alpha = self.param('alpha', nn.initializers.normal(self.alpha_init),
                       (self.layers, len(nas_mlp.OPS)))
    x = x.reshape(x.shape[0], -1).astype(self.dtype)
    width = max(x.shape[-1], max(nas_mlp.WIDTHS))
    x = _pad_to(x, width)
    for layer in range(self.layers):
      w = jax.nn.softmax(alpha[layer]).astype(self.dtype)   # the softmax in float32
      out = w[0] * x                                     # op 0: the layer is absent
      for op in range(1, len(nas_mlp.OPS)):
        features, act = nas_mlp.op_layer(op)
        dense = nn.Dense(features, name=f'layer{layer}_{nas_mlp.OPS[op]}', dtype=self.dtype)
        out = out + w[op] * _pad_to(nas_mlp.ACTIVATIONS[act](dense(x)), width)
      x = out
    return nn.Dense(self.num_classes, name='head', dtype=self.dtype)(x)


def _pad_to(x, width):
  return jnp.pad(x, ((0, 0), (0, width - x.shape[-1])))


# -- reading the architecture off alpha ---------------------------------------------------------

def softmax(a) -> np.ndarray:
  a = np.asarray(a, np.float64)
  e = np.exp(a - a.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


def derive_cell(alpha, ops: Sequence[str], steps: int) -> tuple:
  """The paper's rule for one cell type: per node, the 2 incoming edges whose strongest non-'none'
  op weighs most, each with that op. Returns ((op, input), ...) with 2 entries per node."""
  w = softmax(alpha)
  not_none = [k for k, name in enumerate(ops) if name != 'none']
  chosen, start = [], 0
  for node in range(steps):
    n_in = 2 + node
    edges = w[start:start + n_in]
    strength = edges[:, not_none].max(-1)
    for j in sorted(np.argsort(-strength, kind='stable')[:2]):
      best = not_none[int(np.argmax(edges[j, not_none]))]
      chosen.append((ops[best], int(j)))
    start += n_in
  return tuple(chosen)


def derive(model, alphas: dict):
  """The discrete architecture a supernet's alpha names: an arch tuple of models/nas_mlp.py for
  `SuperMLP`, a `Genotype` (as nested tuples) for `SearchNetwork`."""
  if isinstance(model, SuperMLP):
    arch = tuple(int(op) for op in np.argmax(np.asarray(alphas['alpha']), -1))
    return nas_mlp.validate(arch) if model.layers == nas_mlp.LAYERS else arch
  if isinstance(model, SearchNetwork):
    concat = tuple(range(2, 2 + model.steps))
    return tuple(Genotype(derive_cell(alphas['alpha_normal'], model.ops, model.steps), concat,
                          derive_cell(alphas['alpha_reduce'], model.ops, model.steps), concat))
  raise TypeError(f'{type(model).__name__} is not a DARTS supernet')


def op_names(model, architecture) -> list[str]:
  """The op names a derived architecture uses (one per MLP layer, one per kept cell edge)."""
  if isinstance(model, SuperMLP):
    return [nas_mlp.OPS[op] for op in architecture]
  g = Genotype(*architecture)
  return [name for name, _ in tuple(g.normal) + tuple(g.reduce)]


def parameter_free_share(model, architecture) -> float:
  names = op_names(model, architecture)
  return sum(n in PARAMETER_FREE for n in names) / len(names)


def alpha_labels(model) -> dict:
  """alpha parameter name -> (row labels, op names), for plots."""
  if isinstance(model, SuperMLP):
    return {'alpha': ([f'layer {i}' for i in range(model.layers)], list(nas_mlp.OPS))}
  rows = []
  for node in range(model.steps):
    rows += [f'{j}->{node + 2}' for j in range(2 + node)]
  return {'alpha_normal': (rows, list(model.ops)), 'alpha_reduce': (rows, list(model.ops))}


VARIANTS = {
    'tiny': (SuperMLP, dict()),
    # Liu et al. 2019 Section 3.1.1 on the MLP space of this study (no row in the paper).
    'mlp': (SuperMLP, dict()),
    'cells_tiny': (SearchNetwork, dict(channels=4, layers=3, steps=2, stem_multiplier=1)),
    # A CPU-scale search network for 8x8 digits: 3 cells (normal, reduction, reduction), 8
    # channels, 2 nodes. (XLA's CPU compile of the search step grows fast with the cell count:
    # this one takes minutes on 2 busy cores.)
    'cells_small': (SearchNetwork, dict(channels=8, layers=3, steps=2)),
    # Liu et al. 2019 Section 3.1.1 / A.1.1: 8 cells, 16 initial channels, 4 nodes, 8 ops.
    'search_cifar10': (SearchNetwork, dict(channels=16, layers=8, steps=4, ops=PAPER_OPS)),
    # Liu et al. 2019 Section 3.2 / A.1.2: 20 cells, 36 channels, auxiliary head, drop path 0.2,
    # cutout 16 (and standard crop/flip), on the genotype DARTS (2nd order) found, Figure 4/5.
    'eval_cifar10': (GenotypeNetwork, dict(
        channels=36, layers=20, drop_path=0.2, auxiliary=True, augment_pad=4, cutout=16,
        genotype=(
            (('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1),
             ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0),
             ('dil_conv_3x3', 2)), (2, 3, 4, 5),
            (('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1),
             ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2),
             ('max_pool_3x3', 1)), (2, 3, 4, 5)))),
}
