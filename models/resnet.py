"""Residual networks: ResNet-18 and wide ResNets from one module of basic (two 3x3 conv) blocks.

He, Zhang, Ren & Sun 2016, "Deep residual learning for image recognition" (ResNet v1): by default
each block is post-activation, conv-BN-ReLU-conv-BN, add the shortcut, then ReLU; a shortcut that
changes shape (stride 2 or new width) is a 1x1 conv + BN projection (their option B).
`preact=True` is the pre-activation ordering of He, Zhang, Ren & Sun 2016b, "Identity mappings in
deep residual networks": BN-ReLU-conv-BN-ReLU-conv, add, nothing after; projections are a bare 1x1
conv of the pre-activated input, and one BN-ReLU follows the last block. Zagoruyko & Komodakis 2016,
"Wide residual networks", use that ordering with dropout between the two convs (`dropout`).

Stems: 'cifar' is one 3x3 stride-1 conv, for 28x28 / 32x32 (and the 8x8 digits); 'imagenet' is the
7x7 stride-2 conv and 3x3 stride-2 max-pool. Stage 1 keeps the resolution, later stages halve it.
Convs have no bias (BN's shift replaces it), He et al. initialization (fan-out, gain 2) as the
paper cites; BN statistics are the `batch_stats` collection, i.e. the engine's model_state
(models/batch_norm.py: flax's BatchNorm with its means taken as matrix products, faster on CPU).
"""

from typing import Sequence

import functools

import flax.linen as nn

from models.batch_norm import BatchNorm

# He, Zhang, Ren & Sun 2015 ("Delving deep into rectifiers"), fan-out as in torchvision's ResNets.
he_init = nn.initializers.variance_scaling(2.0, 'fan_out', 'normal')


def _conv(features: int, kernel: int, strides: int = 1, name=None, dtype='float32'):
  """k x k conv, no bias; padding k // 2 (the papers' and torch's), not XLA's asymmetric SAME."""
  pad = kernel // 2
  return nn.Conv(features, (kernel, kernel), (strides, strides), padding=((pad, pad), (pad, pad)),
                 use_bias=False, kernel_init=he_init, name=name, dtype=dtype)


def batch_norm(train: bool, name=None):
  return BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, name=name)


class BasicBlock(nn.Module):
  """Two 3x3 convs and a shortcut; post-activation (v1) or pre-activation (v2 / WRN)."""
  features: int
  strides: int = 1
  preact: bool = False
  dropout: float = 0.0
  dtype: str = 'float32'

  @nn.compact
  def __call__(self, x, train: bool = False):
    project = x.shape[-1] != self.features or self.strides != 1
    conv = functools.partial(_conv, dtype=self.dtype)
    if self.preact:
      y = nn.relu(batch_norm(train, 'bn1')(x))
      shortcut = conv(self.features, 1, self.strides, 'proj')(y) if project else x
      y = conv(self.features, 3, self.strides, 'conv1')(y)
      y = nn.relu(batch_norm(train, 'bn2')(y))
      if self.dropout:
        y = nn.Dropout(self.dropout, deterministic=not train)(y)
      return shortcut + conv(self.features, 3, 1, 'conv2')(y)
    shortcut = x
    if project:
      shortcut = batch_norm(train, 'proj_bn')(conv(self.features, 1, self.strides, 'proj')(x))
    y = nn.relu(batch_norm(train, 'bn1')(conv(self.features, 3, self.strides, 'conv1')(x)))
    if self.dropout:
      y = nn.Dropout(self.dropout, deterministic=not train)(y)
    y = batch_norm(train, 'bn2')(conv(self.features, 3, 1, 'conv2')(y))
    return nn.relu(shortcut + y)


class ResNet(nn.Module):
  """Stem, stages of basic blocks (the first block of stages 2.. strides 2), global average pool,
  Dense. Input [B, H, W, C] float, output logits [B, num_classes]."""
  stage_sizes: Sequence[int] = (2, 2, 2, 2)
  widths: Sequence[int] = (64, 128, 256, 512)
  num_classes: int = 10
  preact: bool = False
  stem: str = 'cifar'           # 'cifar': 3x3/1 conv | 'imagenet': 7x7/2 conv + 3x3/2 max-pool
  stem_width: int = 0           # 0 -> widths[0]; WRN's stem is 16 wide, its first stage 16k
  dropout: float = 0.0          # between the two convs of each block (WRN)
  # Compute dtype ('bfloat16': mixed precision, float32 parameters; BN statistics float32).
  dtype: str = 'float32'

  @nn.compact
  def __call__(self, x, train: bool = False):
    conv = functools.partial(_conv, dtype=self.dtype)
    if len(self.stage_sizes) != len(self.widths):
      raise ValueError(f'ResNet: {len(self.stage_sizes)} stage_sizes but {len(self.widths)} widths')
    width = self.stem_width or self.widths[0]
    if self.stem == 'cifar':
      x = conv(width, 3, 1, 'stem')(x)
    elif self.stem == 'imagenet':
      x = conv(width, 7, 2, 'stem')(x)
    else:
      raise ValueError(f"ResNet stem must be 'cifar' or 'imagenet', got {self.stem!r}")
    if not self.preact:   # pre-activation: the first block's BN-ReLU follows the stem (and pool)
      x = nn.relu(batch_norm(train, 'stem_bn')(x))
    if self.stem == 'imagenet':
      x = nn.max_pool(x, (3, 3), (2, 2), padding=((1, 1), (1, 1)))
    for i, (size, features) in enumerate(zip(self.stage_sizes, self.widths)):
      for j in range(size):
        x = BasicBlock(features, 2 if i > 0 and j == 0 else 1, self.preact, self.dropout,
                       self.dtype, name=f'stage{i + 1}_block{j + 1}')(x, train)
    if self.preact:
      x = nn.relu(batch_norm(train, 'final_bn')(x))
    x = x.mean(axis=(1, 2))
    return nn.Dense(self.num_classes, name='head', dtype=self.dtype)(x)


VARIANTS = {
    # For tests: He et al. 2016's v1 basic blocks, two stages of one block, 8 and 16 wide.
    'tiny': (ResNet, dict(stage_sizes=(1, 1), widths=(8, 16))),
    # ResNet-18 (He et al. 2016, Table 1: basic blocks [2, 2, 2, 2], 64-128-256-512) with a 3x3
    # stride-1 stem (no 7x7, no max-pool) as their CIFAR nets have (Sec. 4.2): the common CIFAR
    # ResNet-18, 11,173,962 parameters for 10 classes on 3 channels. stem='imagenet' gives Table
    # 1's 7x7/2 + max-pool stem (11,689,512 with 1000 classes).
    'resnet18': (ResNet, dict(stage_sizes=(2, 2, 2, 2), widths=(64, 128, 256, 512))),
    # The same ResNet-18 (He et al. 2016, Table 1) at a quarter of the width, 16-32-64-128: the CPU
    # size (~1/16 of the parameters and FLOPs).
    'resnet18_quarter': (ResNet, dict(stage_sizes=(2, 2, 2, 2), widths=(16, 32, 64, 128))),
    # WRN-28-10 (Zagoruyko & Komodakis 2016, Table 1's structure; Table 4: depth 28, k = 10, 36.5M
    # parameters, here 36,479,194): (28 - 4) / 6 = 4 pre-activation basic blocks per stage, widths
    # 16k for k = 10, a 16-wide 3x3 stem. dropout=0.3 is their Sec. 2.4 "WRN-28-10-dropout".
    'wrn28_10': (ResNet, dict(stage_sizes=(4, 4, 4), widths=(160, 320, 640), preact=True,
                              stem_width=16)),
}
