"""python -m train --config experiments/<study>/<name>.py[:arg] --workdir DIR
    [--config.key=value ...]

Parses flags and calls train.loop.train_and_evaluate; nothing else happens here.
"""

import argparse
import os
import sys

from train import cli

HELP = """Train one experiment config and evaluate it; resumes if the workdir holds checkpoints.

examples:
  python -m train --config experiments/zoo/cnn_digits.py --workdir runs/cnn
  python -m train --config experiments/zoo/cnn_digits.py:small --workdir runs/cnn_small
  python -m train --config experiments/zoo/cnn_digits.py --workdir runs/cnn_lr \\
      --config.optimizer.learning_rate=0.01

overrides:
  --config.KEY=VALUE    set any key of the config (dotted path); VALUE is a Python literal or a bare
                        string. Unknown keys stop the run and name the nearest valid ones.
  --config.mesh.data=4 --config.sharding.fsdp=True   devices and parameter placement
  --config.optimizer.accumulate_steps=4   K micro-batches a step (less memory, same step)
  --config.optimizer.ema_decay=0.999 --config.eval_ema=True   evaluate the parameters' average
  --config.profile_steps='(100, 110)'     a jax.profiler trace of those steps in DIR/profile/
  --config.vmap.seeds='(0, 1, 2)'         three members (seeds) trained in one compiled step

workdir: config.json, metrics.jsonl, tensorboard/, plots/, checkpoints/, summary.json; lock
         while a run holds it (a second run on the same workdir stops, exit 2)
afterwards: python -m train.evaluate --workdir DIR (any checkpoint, any devices; one JSON line),
            python -m train.export --workdir DIR --out FILE.npz (parameters as named arrays)
exit codes: 0 done or stopped cleanly by SIGTERM/SIGINT (checkpoint written), 2 bad input,
            3 non-finite loss, 4 disk full; 1 an internal error (a bug: its traceback follows)
"""


def parse(argv):
  from train.errors import ArgumentParser
  parser = ArgumentParser(prog='python -m train', description=HELP,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--config', required=True, metavar='FILE[:ARG]',
                      help='experiment config file, optionally with the argument of get_config')
  parser.add_argument('--workdir', required=True, help='where the run lives (local path or gs://)')
  parser.add_argument('--overwrite', action='store_true',
                      help='start over in a workdir that holds another run (deletes its results)')
  parser.add_argument('--stop_after', type=int, default=0, metavar='STEP',
                      help='checkpoint and exit 0 once this step is reached (as if preempted)')
  parser.add_argument('--distributed', action='store_true',
                      help='call jax.distributed.initialize() first (multi-host; automatic on TPU '
                           'VMs, else set JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, '
                           'JAX_PROCESS_ID or run under SLURM)')
  args, rest = parser.parse_known_args(argv)
  overrides = cli.config_overrides(parser, rest)
  if args.stop_after < 0:
    parser.error(f'--stop_after must be 0 (off) or a step, got {args.stop_after}')
  return args, overrides


def main(argv=None):
  from train import preemption
  preemption.STOP.install()   # before the heavy imports: a SIGTERM while JAX loads is not lost
  args, overrides = parse(sys.argv[1:] if argv is None else argv)
  cli.configure_logging()

  def train():
    from train import config as config_lib
    config = config_lib.load(args.config)
    config_lib.apply_overrides(config, overrides)
    if args.distributed:
      from train import distributed
      distributed.initialize()
    from train import loop
    loop.train_and_evaluate(config, args.workdir, overwrite=args.overwrite,
                            stop_after=args.stop_after)
  return cli.run_guarded(train, args.workdir)


if __name__ == '__main__':
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  cli.exit_fast(main())
