"""train.cli.exit_fast: a command's process ends without the interpreter's teardown, and still does
what that teardown does for a run (threads joined, executors' work finished, atexit handlers run,
streams flushed, the exit code kept); under a profiler or anything else that runs after the
command, it exits the ordinary way."""

import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent('''
    import atexit, concurrent.futures, pathlib, sys, threading, time
    from train import cli
    out = pathlib.Path(sys.argv[1])

    def late(name):
      time.sleep(0.3)
      (out / name).write_text('done')

    threading.Thread(target=late, args=('thread',)).start()      # not a daemon: joined
    pool = concurrent.futures.ThreadPoolExecutor(1)               # never shut down by the script
    pool.submit(late, 'executor')
    atexit.register(lambda: (out / 'atexit').write_text('ran'))

    class Finalized:
      def __del__(self):
        (out / 'finalizer').write_text('ran')
    keep = Finalized()                                            # freed only by the teardown
    sys.stdout.write('no newline, still buffered')
    cli.exit_fast(int(sys.argv[2]))
    ''')


def _run(tmp_path, how, code):
  (tmp_path / 'probe.py').write_text(SCRIPT)
  start = {'-c': ['-c', SCRIPT], '-m': ['-m', 'probe'],
           'cProfile': ['-m', 'cProfile', '-o', str(tmp_path / 'profile'),
                        str(tmp_path / 'probe.py')]}[how]
  env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(tmp_path)]))
  return subprocess.run([sys.executable, *start, str(tmp_path), str(code)], cwd=tmp_path, env=env,
                        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize('how', ['-c', '-m', 'cProfile'])
def test_exit_fast_joins_threads_runs_atexit_flushes_and_keeps_the_code(tmp_path, how):
  done = _run(tmp_path, how, 3)
  assert done.returncode == (0 if how == 'cProfile' else 3), done.stderr   # cProfile drops it
  assert done.stdout.startswith('no newline, still buffered')
  assert (tmp_path / 'thread').read_text() == 'done'
  assert (tmp_path / 'executor').read_text() == 'done'
  assert (tmp_path / 'atexit').read_text() == 'ran'
  if how == 'cProfile':
    # The profiler writes its file after the script: the ordinary exit, teardown and all.
    assert (tmp_path / 'profile').stat().st_size > 0
    assert (tmp_path / 'finalizer').read_text() == 'ran'
  else:
    # Started by the interpreter itself, the teardown is what is skipped: an object's finalizer
    # does not run (nothing in the engine writes from one); this shows the fast path was taken.
    assert not (tmp_path / 'finalizer').exists()
