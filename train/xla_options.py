"""XLA compiler options of a compiled step: the config's (`config.xla_options`), or, where it names
none, the engine's pick for the step's platform and operations.

The pick (`for_step`): on XLA:CPU a step with convolutions keeps only dots, elementwise work and
reductions on YNNPACK, so that convolutions, pooling windows and their gradients go to XLA's own
multi-threaded kernels instead of YNNPACK's, which keep one core busy. Measured on 2 cores: a
quarter-width ResNet-18 on 28x28 images 3.0 -> 3.7 steps/s, the Fashion 2-conv net 5.6 -> 7.4, the
bench CNN 0.067 -> 0.044 s a step (README, Speed). Reductions stay on YNNPACK: without it XLA:CPU
rewrites a bias gradient (a sum over batch and positions) into a strided reduce-window on one
core, ~10 ms of the 2-conv net's ~90 ms step (0.088 -> 0.079 s with reductions on YNNPACK).
Steps without convolutions (MLPs, RNNs, Transformers, convolutions written as im2col matmuls) or
with only tiny ones (MIN_CONV_AREA) keep XLA's defaults: the same option slows those. Options
change kernels, not the math (tests/test_engine.py compares parameters after several steps both
ways).

Any `config.xla_options` entry replaces the pick; options meant for another platform are dropped,
so one config runs unchanged on a CPU, a GPU and a TPU.
"""

import re

from train.errors import UserError

PLATFORM_PREFIXES = {'cpu': 'xla_cpu_', 'gpu': 'xla_gpu_', 'tpu': 'xla_tpu_'}

# Convolutions and reduce-windows off YNNPACK (XLA:CPU's default hands them to it); dots,
# elementwise work and plain reductions kept there.
CPU_CONV = {'xla_cpu_experimental_ynn_fusion_type':
            'LIBRARY_FUSION_TYPE_DOT,LIBRARY_FUSION_TYPE_ELTWISE,LIBRARY_FUSION_TYPE_REDUCE'}


def platform_of(mesh) -> str:
  platform = mesh.devices.flat[0].platform
  return 'gpu' if platform in ('cuda', 'rocm') else platform


def parse(xla_options, mesh) -> dict | None:
  """config.xla_options ('name=value', ...) -> compiler options for the mesh's platform, None if
  none apply."""
  platform = platform_of(mesh)
  other = tuple(p for k, p in PLATFORM_PREFIXES.items() if k != platform)
  options = {}
  for item in xla_options:
    name, eq, value = str(item).partition('=')
    if not eq or not name.startswith('xla_'):
      raise UserError(f'config.xla_options entry {item!r} is not "xla_<option>=<value>"')
    if not name.startswith(other):
      options[name.strip()] = _value(value.strip())
  return options or None


def for_step(lowered, platform: str) -> dict | None:
  """The engine's options for a lowered step when the config names none (see the module doc)."""
  if platform == 'cpu' and max(conv_input_areas(lowered.as_text()), default=0) >= MIN_CONV_AREA:
    return dict(CPU_CONV)
  return None


# Below 8x8 positions per image YNNPACK's convolutions win: a DCGAN on the 8x8 digits, whose
# convolutions see 2x2 and 4x4 maps, steps 18% slower with CPU_CONV; the digits CNN (8x8 and 4x4
# maps) 10% faster, 28x28 nets 7-40% faster.
MIN_CONV_AREA = 64

_CONV_INPUT = re.compile(r'stablehlo\.convolution.*?:\s*\(tensor<((?:\d+x)+)[a-z]')


def conv_input_areas(hlo_text: str) -> list[int]:
  """H*W of the first operand of every 2-D convolution in a StableHLO module ([N, H, W, C])."""
  areas = []
  for m in _CONV_INPUT.finditer(hlo_text):
    dims = [int(d) for d in m.group(1).rstrip('x').split('x')]
    if len(dims) == 4:
      areas.append(dims[1] * dims[2])
  return areas


def _value(text: str):
  """XLA wants booleans and numbers typed: 'true' -> True, '4' -> 4; anything else stays text."""
  if text.lower() in ('true', 'false'):
    return text.lower() == 'true'
  for kind in (int, float):
    try:
      return kind(text)
    except ValueError:
      pass
  return text
