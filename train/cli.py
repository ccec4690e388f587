"""What every command-line entry point shares (python -m train, train.evaluate, train.export,
train.explain, train.bench, launch.aot, launch.sweep, experiments.reproduce and the studies that
train): `--config.KEY=VALUE` overrides among its flags, logging, and how errors end the process (one
line and exit 2 for the user's mistakes, 3 for a non-finite loss, 4 for a full disk, 1 and a
traceback for a bug), and how a finished command's process ends (`exit_fast`). Nothing here
imports JAX: a bad command line is answered before the heavy imports.
"""

import atexit
import errno
import logging
import os
import sys
import threading


def config_overrides(parser, rest: list[str], example: str = '') -> list[str]:
  """The `--config.KEY=VALUE` items among the arguments argparse did not know; anything else is a
  one-line usage error (train/config.py applies the overrides and names a mistyped key), showing
  `example` (an override this command is often given) where there is one."""
  overrides = [r for r in rest if r.startswith('--config.')]
  unknown = [r for r in rest if not r.startswith('--config.')]
  if unknown:
    hint = f', e.g. {example}' if example else ''
    parser.error(f'unrecognized arguments: {" ".join(unknown)} '
                 f'(config keys go as --config.KEY=VALUE{hint})')
  return overrides


def configure_logging() -> None:
  logging.basicConfig(level=logging.INFO, format='%(levelname)s %(name)s: %(message)s')
  for noisy in ('jax', 'orbax', 'tensorflow_datasets'):
    logging.getLogger(noisy).setLevel(logging.WARNING)
  logging.getLogger('absl').setLevel(logging.ERROR)   # tfds' 'OpenCV is not installed' and the like


def exit_fast(code) -> None:
  """Ends a finished command's process with `code`, skipping the interpreter's teardown: with JAX,
  orbax, matplotlib and TFDS loaded, freeing every module's objects one by one and destroying
  XLA's client takes about half a second (README, "Process exit"), for nothing the run still
  needs. What the teardown does that matters is still done, in its order: threads that are not
  daemons are joined (threading's own shutdown, which first tells executors to finish), atexit
  handlers run (logging's flush, jax.distributed's shutdown, orbax's), and the standard streams
  are flushed; then os._exit. Only for a command's last line, after everything it writes has been
  closed (every file here is written through a `with` or train/atomic.py). Where something else
  started the command and runs after it (`python -m cProfile -o F -m train ...` writes F then;
  pdb, trace, a script calling runpy), the ordinary exit."""
  code = 0 if code is None else code
  shutdown = getattr(threading, '_shutdown', None)
  run_exitfuncs = getattr(atexit, '_run_exitfuncs', None)
  if (not isinstance(code, int) or shutdown is None or run_exitfuncs is None
      or not _started_by_the_interpreter(sys._getframe(1))):
    sys.exit(code)
  shutdown()
  run_exitfuncs()
  for stream in (sys.stdout, sys.stderr):
    try:
      stream.flush()
    except (OSError, ValueError):   # a closed or broken pipe: nothing more can be said there
      pass
  os._exit(code)


_RUNPY = {'<frozen runpy>', getattr(sys.modules.get('runpy'), '__file__', None)}   # 3.11 freezes it


def _started_by_the_interpreter(frame) -> bool:
  """`frame` (a command's top level) was run by the interpreter itself — `python -m X` (runpy's
  frames below it), `python FILE` or `python -c` (none) — not by a profiler, a debugger or a
  script that would go on after it."""
  frame = frame.f_back
  while frame is not None:
    if frame.f_code.co_filename not in _RUNPY:
      return False
    frame = frame.f_back
  return True


def run_guarded(body, workdir=None) -> int:
  """Runs body() and returns the process's exit code: body's own (None counts as 0), or the
  error's, printed in one line. `workdir` names where a full disk was being written."""
  from train.errors import UserError
  try:
    return body() or 0
  except UserError as e:
    if os.environ.get('NNZOO_DEBUG'):
      raise
    print(f'nnzoo: error: {e}', file=sys.stderr)
    return e.exit_code
  except Exception as e:  # noqa: BLE001 - disk full and out of memory are the user's to fix;
    # anything else is a bug
    kind = error_kind(e)
    if os.environ.get('NNZOO_DEBUG') and kind != 'disk full':
      raise
    if kind == 'out of memory':
      print(f'nnzoo: error: out of memory: {_first_line(e)}: use a smaller config.data.batch_size '
            f'or model, or more devices', file=sys.stderr)
      return 2
    if kind is None:
      from train.errors import report_bug
      return report_bug(e)
    if workdir is None:
      message = f'nnzoo: error: disk full (No space left on device): {_first_line(e)}\n'
    else:
      message = (f'nnzoo: error: disk full (No space left on device) writing to {workdir}; the '
                 f'checkpoints written before are intact: free space and rerun the same command '
                 f'to resume\n')
    sys.stdout.flush()
    _last_words(message)
    os._exit(4)   # skip interpreter shutdown: orbax's dead writer threads would bury the line above


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


def error_kind(e: BaseException) -> str | None:
  """'disk full', 'out of memory' (the user's to fix) or None (a bug). A full disk is checked
  first: tensorstore reports one as RESOURCE_EXHAUSTED too ('Error writing local file ...: No
  space left on device')."""
  if _disk_full(e):
    return 'disk full'
  return 'out of memory' if _out_of_memory(e) else None


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
