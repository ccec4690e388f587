"""Will this config's train step fit a TPU slice? Compile it for the slice here, without a TPU.

  pip install -e .[tpu-aot]      # libtpu: the TPU compiler, used here only to compile
  python -m launch.aot --config experiments/zoo/cnn_digits.py:full --topology v5e:2x2
  python -m launch.aot --config experiments/zoo/cnn_digits.py:full --topology v5e:4x4  # 4 hosts

`jax.experimental.topologies.get_topology_desc` describes the slice's chips; the REAL train step
(train.loop.build, the objective's train_step, the state and batch shardings of the config over a
Mesh of those chips, the state donated, exactly as the loop jits it) is lowered with abstract
shapes and compiled by XLA's TPU compiler. Nothing is allocated and no data is read (a TFDS set
that is not here is replaced by tfds' mock data of the same shapes).

Prints per-chip memory (arguments, outputs, temporaries, code) against the chip's HBM and XLA's
cost estimate (FLOPs and bytes per chip per step, and the roofline time they imply), and exits 1
if the step would not fit, 2 on bad input (unknown topology, config errors).
"""

import argparse
import os
import sys

from train import cli
from train import errors
from train.tpu_compile import GIB, DoesNotFit, Report, check, parse_topology  # noqa: F401

HELP = __doc__


def main(argv=None) -> int:
  parser = errors.ArgumentParser(prog='python -m launch.aot', description=HELP,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--config', required=True, metavar='FILE[:ARG]')
  parser.add_argument('--topology', required=True, help='e.g. v5e:2x2, v5e:4x4, v4:2x2x2')
  parser.add_argument('--chips_per_host', default='2,2,1',
                      help='chips per host as X,Y,Z (2,2,1: 4-chip hosts, as v4/v5e/v5p VMs)')
  parser.add_argument('--num_slices', type=int, default=1)
  parser.add_argument('--hbm_gib', type=float, default=0.0, help='override the chip HBM size')
  parser.add_argument('--max_fraction', type=float, default=0.95,
                      help='fraction of HBM the step may use (the runtime keeps some)')
  args, rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
  overrides = cli.config_overrides(parser, rest)
  try:
    chips_per_host = tuple(int(c) for c in args.chips_per_host.split(','))
  except ValueError:
    parser.error(f'--chips_per_host {args.chips_per_host!r}: integers X,Y,Z, e.g. 2,2,1')
  try:
    import libtpu  # noqa: F401
  except ImportError:
    print('launch.aot: libtpu is not installed: pip install -e .[tpu-aot]', file=sys.stderr)
    return 2
  # Compile for the TPU, run nothing on this machine (no effect if jax is already running).
  os.environ.setdefault('JAX_PLATFORMS', 'cpu')
  from train import config as config_lib

  def compile_and_report():
    config = config_lib.load(args.config)
    config_lib.apply_overrides(config, overrides)
    try:
      report = check(config, args.topology, chips_per_host, args.num_slices, args.hbm_gib)
    except DoesNotFit as e:
      print(f'{args.topology}: DOES NOT FIT: the TPU compiler says: {e}')
      return 1
    print(report.format(args.max_fraction))
    return 0 if report.fits(args.max_fraction) else 1
  return cli.run_guarded(compile_and_report)


if __name__ == '__main__':
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  sys.exit(main())
