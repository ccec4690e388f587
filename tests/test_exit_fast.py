"""train.cli.exit_fast: a command's process ends without the interpreter's teardown, and still does
what that teardown does for a run (threads joined, executors' work finished, atexit handlers run,
streams flushed, the exit code kept)."""

import pathlib
import subprocess
import sys
import textwrap

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


def _run(tmp_path, code):
  return subprocess.run([sys.executable, '-c', SCRIPT, str(tmp_path), str(code)], cwd=REPO,
                        capture_output=True, text=True, timeout=60,
                        stdin=subprocess.DEVNULL)


def test_exit_fast_joins_threads_runs_atexit_flushes_and_keeps_the_code(tmp_path):
  done = _run(tmp_path, 3)
  assert done.returncode == 3, done.stderr
  assert done.stdout == 'no newline, still buffered'
  assert (tmp_path / 'thread').read_text() == 'done'
  assert (tmp_path / 'executor').read_text() == 'done'
  assert (tmp_path / 'atexit').read_text() == 'ran'
  # The teardown itself is what is skipped: an object's finalizer does not run. (Nothing in the
  # engine writes from a finalizer; this shows the exit took the fast path.)
  assert not (tmp_path / 'finalizer').exists()
  assert _run(tmp_path, 0).returncode == 0
