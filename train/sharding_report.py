"""Where every leaf of a config's train state lives, and what it costs each device.

  python -m train.sharding_report --config experiments/zoo/cnn_digits.py --devices 8
  python -m train.sharding_report --config experiments/zoo/cnn_digits.py --devices 8 \\
      --config.sharding.fsdp=True

Prints each leaf's path, shape, PartitionSpec and bytes per device (train.sharding.describe), then
per-device totals of params, optimizer state and the whole state next to what a replicated
placement would cost. Nothing is trained or allocated: shapes come from jax.eval_shape.
"""

import argparse
import sys

HELP = __doc__


def report_rows(config):
  """(path, shape, spec, bytes per device, bytes in all) per leaf, over the current devices."""
  import numpy as np
  from train import loop
  from train import sharding as sharding_lib
  from train import shapes
  mesh = sharding_lib.make_mesh(config.mesh)
  batch = shapes.abstract_batch(config, sharding_lib.batch_sharding(mesh))
  run = loop.build(config, mesh, batch)
  import jax
  leaves = jax.tree_util.tree_leaves(run.abstract_state)
  rows = sharding_lib.describe(run.abstract_state, run.state_sharding)
  return [r + (int(np.prod(leaf.shape)) * leaf.dtype.itemsize,)
          for r, leaf in zip(rows, leaves)], mesh


def format_report(rows, mesh) -> str:
  def size(n):
    for unit in ('B', 'KiB', 'MiB', 'GiB'):
      if n < 1024 or unit == 'GiB':
        return f'{n:.0f} {unit}' if unit == 'B' else f'{n:.2f} {unit}'
      n /= 1024

  width = max([len(r[0]) for r in rows] + [4])
  lines = [f'mesh {dict(mesh.shape)} over {mesh.devices.size} devices',
           f'{"path":<{width}}  {"shape":<20} {"spec":<28} {"per device":>12}']
  for path, shape, spec, per_device, _ in rows:
    lines.append(f'{path:<{width}}  {str(shape):<20} {spec:<28} {size(per_device):>12}')
  groups = {}
  for path, _, _, per_device, whole in rows:
    g = groups.setdefault(path.split('/')[0], [0, 0])
    g[0] += per_device
    g[1] += whole
  lines.append('')
  total = [sum(g[0] for g in groups.values()), sum(g[1] for g in groups.values())]
  for name, (per_device, whole) in list(groups.items()) + [('total', total)]:
    lines.append(f'{name:<12} per device {size(per_device):>12}  (replicated: {size(whole)}, '
                 f'{per_device / max(whole, 1):.3f} of it)')
  return '\n'.join(lines)


def main(argv=None):
  from train import cli
  from train.errors import ArgumentParser
  parser = ArgumentParser(prog='python -m train.sharding_report', description=HELP,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--config', required=True, metavar='FILE[:ARG]')
  parser.add_argument('--devices', type=int, default=0,
                      help='report for N fake CPU devices (default: the devices this machine has)')
  args, rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
  overrides = cli.config_overrides(parser, rest)
  import jax
  if args.devices:
    jax.config.update('jax_platforms', 'cpu')
    jax.config.update('jax_num_cpu_devices', args.devices)
  from train import config as config_lib

  def report():
    config = config_lib.load(args.config)
    config_lib.apply_overrides(config, overrides)
    print(format_report(*report_rows(config)))
  return cli.run_guarded(report)


if __name__ == '__main__':
  sys.exit(main())
