"""python -m train --config experiments/<study>/<name>.py[:arg] --workdir DIR [--config.key=value ...]

Parses flags and calls train.loop.train_and_evaluate; nothing else happens here.
"""

import argparse
import errno
import logging
import os
import sys

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

workdir: config.json, metrics.jsonl, tensorboard/, plots/, checkpoints/, summary.json; lock
         while a run holds it (a second run on the same workdir stops, exit 2)
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
                           'VMs, else set JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID '
                           'or run under SLURM)')
  args, rest = parser.parse_known_args(argv)
  overrides = [r for r in rest if r.startswith('--config.')]
  unknown = [r for r in rest if not r.startswith('--config.')]
  if args.stop_after < 0:
    parser.error(f'--stop_after must be 0 (off) or a step, got {args.stop_after}')
  if unknown:
    parser.error(f'unrecognized arguments: {" ".join(unknown)} (config keys go as --config.KEY=VALUE)')
  return args, overrides


def main(argv=None):
  from train import preemption
  preemption.STOP.install()   # before the heavy imports: a SIGTERM while JAX loads is not lost
  args, overrides = parse(sys.argv[1:] if argv is None else argv)
  logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')
  for noisy in ('jax', 'orbax', 'tensorflow_datasets'):
    logging.getLogger(noisy).setLevel(logging.WARNING)
  logging.getLogger('absl').setLevel(logging.ERROR)   # tfds' 'OpenCV is not installed' and the like
  from train.errors import UserError
  try:
    from train import config as config_lib
    config = config_lib.load(args.config)
    config_lib.apply_overrides(config, overrides)
    if args.distributed:
      from train import distributed
      distributed.initialize()
    from train import loop
    loop.train_and_evaluate(config, args.workdir, overwrite=args.overwrite,
                            stop_after=args.stop_after)
  except UserError as e:
    if os.environ.get('NNZOO_DEBUG'):
      raise
    print(f'nnzoo: error: {e}', file=sys.stderr)
    return e.exit_code
  except Exception as e:  # noqa: BLE001 - disk full and out of memory are the user's to fix;
    # anything else is a bug
    if os.environ.get('NNZOO_DEBUG') and not _disk_full(e):
      raise
    if _out_of_memory(e):
      print(f'nnzoo: error: out of memory: {_first_line(e)}: use a smaller config.data.batch_size '
            f'or model, or more devices', file=sys.stderr)
      return 2
    if not _disk_full(e):
      from train.errors import report_bug
      return report_bug(e)
    message = (f'nnzoo: error: disk full (No space left on device) writing to {args.workdir}; the '
               f'checkpoints written before are intact: free space and rerun the same command to '
               f'resume\n')
    sys.stdout.flush()
    _last_words(message)
    os._exit(4)   # skip interpreter shutdown: orbax's dead writer threads would bury the line above
  return 0


def _last_words(message: str) -> None:
  """Writes `message` as the last thing on stderr: orbax's writer threads are still failing in the
  background and would print their asyncio tracebacks after it, so stderr goes to /dev/null first
  (for Python writers and the C level alike) and the message to a private copy of the old fd 2."""
  logging.disable(logging.CRITICAL)
  sys.stderr.flush()
  fd = os.dup(2)
  devnull = os.open(os.devnull, os.O_WRONLY)
  os.dup2(devnull, 2)
  sys.stderr = open(os.devnull, 'w')
  os.write(fd, message.encode())


def _out_of_memory(e: BaseException) -> bool:
  """numpy's MemoryError or XLA's RESOURCE_EXHAUSTED anywhere in the exception chain."""
  while e is not None:
    if isinstance(e, MemoryError) or str(e).startswith('RESOURCE_EXHAUSTED'):
      return True
    e = e.__cause__ or e.__context__
  return False


def _first_line(e: BaseException) -> str:
  text = str(e).strip().splitlines()
  return f'{type(e).__name__}: {text[0][:200]}' if text else type(e).__name__


def _disk_full(e: BaseException) -> bool:
  """ENOSPC anywhere in the exception chain (orbax wraps tensorstore's errors)."""
  while e is not None:
    if getattr(e, 'errno', None) == errno.ENOSPC or 'No space left on device' in str(e):
      return True
    e = e.__cause__ or e.__context__
  return False


if __name__ == '__main__':
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  sys.exit(main())
