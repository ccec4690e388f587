"""python -m tests.faults — inject every fault for real and check that nothing is lost.

Each fault runs `python -m train` in subprocesses on the tiny digits config, does the damage
(signals, kill -9 during an async checkpoint write, truncated files, a torn metrics line, a second
run on a workdir in use, diverging optimizer, bad input, a full disk, a dead worker), and checks
the outcome: the exit code and message, and that the resumed run's final parameters equal an
uninterrupted run's bit for bit. Prints a table and exits 1 if any fault lost data, hung or
misbehaved. tests/test_faults.py runs the same functions.
"""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO, 'experiments/zoo/cnn_digits.py:tiny')
STEPS = 40
COMMON = [f'--config.num_steps={STEPS}', '--config.ckpt_every=10', '--config.log_every=1',
          '--config.eval_every=0', '--config.plots=False', '--config.optimizer.learning_rate=0.01',
          '--config.optimizer.schedule=constant']


class Env:
  """A scratch directory with the data set built once, and the uninterrupted reference run."""

  def __init__(self, root=None, devices=2):
    self.root = root or tempfile.mkdtemp(prefix='nnzoo-faults-')
    self.devices = devices
    self.env = dict(os.environ, NNZOO_DATA_DIR=os.path.join(self.root, 'tfds'),
                    XLA_FLAGS=f'--xla_force_host_platform_device_count={devices}',
                    PYTHONUNBUFFERED='1', TF_CPP_MIN_LOG_LEVEL='2')
    self.env.pop('NNZOO_DEBUG', None)
    self._reference = None

  def workdir(self, name):
    path = os.path.join(self.root, name)
    shutil.rmtree(path, ignore_errors=True)
    return path

  def start(self, workdir, *extra, env=None):
    cmd = [sys.executable, '-m', 'train', '--config', CONFIG, '--workdir', workdir, *COMMON, *extra]
    return subprocess.Popen(cmd, cwd=REPO, env=env or self.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)

  def run(self, workdir, *extra, timeout=300, env=None):
    p = self.start(workdir, *extra, env=env)
    out, err = p.communicate(timeout=timeout)
    return p.returncode, out, err

  def reference(self):
    if self._reference is None:
      wd = self.workdir('reference')
      rc, _, err = self.run(wd)
      assert rc == 0, err[-2000:]
      self._reference = final_params(wd)
    return self._reference


def final_params(workdir):
  """Parameters of the newest checkpoint, as numpy, read by orbax (never pickle)."""
  import jax
  from train import checkpoint
  step, state = checkpoint.read_state(os.path.join(workdir, 'checkpoints'))
  return step, jax.tree.leaves(state['params'])


def same(a, b):
  return a[0] == b[0] and len(a[1]) == len(b[1]) and all(np.array_equal(x, y)
                                                          for x, y in zip(a[1], b[1]))


def last_step(workdir):
  path = os.path.join(workdir, 'metrics.jsonl')
  if not os.path.exists(path):
    return 0
  rows = [json.loads(l) for l in open(path).read().splitlines() if l.strip().endswith('}')]
  return max((r['step'] for r in rows), default=0)


def wait_for(predicate, timeout, poll=0.05):
  t0 = time.time()
  while time.time() - t0 < timeout:
    if predicate():
      return True
    time.sleep(poll)
  return False


def one_line_error(err):
  lines = [l for l in err.splitlines() if l.strip()]
  return lines[-1] if lines else ''


# --- The faults: each returns (outcome, ok); ok None: the fault could not be injected here ---

def _signal_mid_training(env, sig, name):
  wd = env.workdir(name)
  p = env.start(wd)
  if not wait_for(lambda: last_step(wd) >= 15, 240):
    p.kill()
    return 'never reached step 15', False
  p.send_signal(sig)
  try:
    _, err = p.communicate(timeout=60)
  except subprocess.TimeoutExpired:
    p.kill()
    return 'did not exit within 60 s of the signal', False
  stopped_at = last_step(wd)
  if p.returncode != 0:
    return f'exit {p.returncode}: {one_line_error(err)}', False
  rc, _, err = env.run(wd)
  if rc != 0:
    return f'resume failed: {one_line_error(err)}', False
  ok = same(final_params(wd), env.reference())
  return (f'exit 0 at step {stopped_at}; resumed to {STEPS}; '
          f'params {"==" if ok else "!="} reference', ok)


def sigterm_mid_training(env):
  return _signal_mid_training(env, signal.SIGTERM, 'sigterm')


def sigint_mid_training(env):
  return _signal_mid_training(env, signal.SIGINT, 'sigint')


def sigterm_during_startup(env):
  wd = env.workdir('sigterm_startup')
  p = env.start(wd)
  time.sleep(1.0)   # importing JAX / building / compiling
  p.send_signal(signal.SIGTERM)
  try:
    _, err = p.communicate(timeout=120)
  except subprocess.TimeoutExpired:
    p.kill()
    return 'did not exit within 120 s', False
  if p.returncode != 0:
    return f'exit {p.returncode}: {one_line_error(err)}', False
  stopped_at = last_step(wd)
  rc, _, err = env.run(wd)
  ok = rc == 0 and same(final_params(wd), env.reference())
  return (f'exit 0 after {stopped_at} steps; resumed to {STEPS}; '
          f'params {"==" if ok else "!="} reference'), ok


def kill9_during_async_save(env):
  wd = env.workdir('kill9')
  p = env.start(wd, '--config.ckpt_every=1')   # a save in flight nearly all the time
  ckpt = os.path.join(wd, 'checkpoints')

  def saving():
    return os.path.isdir(ckpt) and any('tmp' in d for d in os.listdir(ckpt)) and last_step(wd) >= 8
  caught = wait_for(saving, 240, poll=0.002)
  p.kill()
  p.communicate()
  partial = [d for d in os.listdir(ckpt) if 'tmp' in d] if os.path.isdir(ckpt) else []
  rc, _, err = env.run(wd, '--config.ckpt_every=1')
  if rc != 0:
    return f'resume failed: {one_line_error(err)}', False
  ok = same(final_params(wd), env.reference())
  where = (f'partial step dirs left: {len(partial)}' if partial
           else 'no partial dir left (save had just ended)')
  return (f'killed {"mid-save" if caught else "(timing missed)"}; {where}; resumed; '
          f'params {"==" if ok else "!="} reference', ok and caught)


def truncated_newest_checkpoint(env):
  wd = env.workdir('truncated')
  rc, _, err = env.run(wd, '--stop_after=20')
  if rc != 0:
    return f'first run failed: {one_line_error(err)}', False
  step_dir = os.path.join(wd, 'checkpoints', '20')
  for root, _, files in os.walk(step_dir):
    for f in files:
      path = os.path.join(root, f)
      if os.path.getsize(path) > 100:
        with open(path, 'r+b') as fh:
          fh.truncate(os.path.getsize(path) // 3)
  rc, _, err = env.run(wd)
  warned = 'step 20' in err and 'unreadable' in err
  ok = rc == 0 and warned and same(final_params(wd), env.reference())
  return (f'warning naming step 20: {"yes" if warned else "NO"}; resumed from 10; '
          f'params {"==" if ok else "!="} reference'), ok


def nonfinite_loss(env):
  wd = env.workdir('nan')
  rc, _, err = env.run(wd, '--config.optimizer.name=sgd', '--config.optimizer.learning_rate=1e38',
                       '--config.ckpt_every=1')
  line = one_line_error(err)
  named = 'non-finite' in line and 'at step' in line
  kept = os.path.isdir(os.path.join(wd, 'checkpoints'))
  if kept:
    step, params = final_params(wd)
    kept = all(np.isfinite(x).all() for x in params)
  ok = rc == 3 and named and kept
  # Skip mode: the same divergence, every non-finite step skipped. A skipped step must leave the
  # state as it was, so the run ends with the parameters of its last finite step: equal, bit for
  # bit, to a run stopped right after that step, and finite.
  diverging = ['--config.optimizer.name=sgd', '--config.optimizer.learning_rate=1e38',
               '--config.skip_nonfinite=True']
  skip_wd = env.workdir('nan_skip')
  skip_rc, _, skip_err = env.run(skip_wd, *diverging)
  summary = os.path.join(skip_wd, 'summary.json')
  skipped = json.load(open(summary))['skipped_steps'] if os.path.exists(summary) else None
  rows = [json.loads(l) for l in open(os.path.join(skip_wd, 'metrics.jsonl'))
          if '"train"' in l] if os.path.exists(os.path.join(skip_wd, 'metrics.jsonl')) else []
  taken = [r['step'] for r in rows if not r.get('skipped')]
  finite_taken = all(np.isfinite(float(r['loss'])) for r in rows if not r.get('skipped'))
  last_taken = max(taken, default=0)
  unchanged = finite_params = False
  if skip_rc == 0 and skipped and last_taken:
    _, final = final_params(skip_wd)
    finite_params = all(np.isfinite(x).all() for x in final)
    cut_wd = env.workdir('nan_skip_cut')
    cut_rc, _, _ = env.run(cut_wd, *diverging, f'--stop_after={last_taken}')
    unchanged = cut_rc == 0 and all(np.array_equal(x, y) for x, y in
                                    zip(final_params(cut_wd)[1], final))
  ok = (ok and skip_rc == 0 and bool(skipped) and skipped == STEPS - len(taken) and finite_taken
        and finite_params and unchanged)
  return (f'exit {rc}: "{line[13:90]}..."; last checkpoint finite: {kept}; '
          f'skip mode: {skipped} steps skipped, last step taken {last_taken}, final params '
          f'finite: {finite_params}, == params after step {last_taken}: {unchanged}', bool(ok))


def bad_inputs(env):
  other = env.workdir('other_config')
  assert env.run(other, '--config.num_steps=1')[0] == 0
  cases = {
      'unknown key': (['--config.optimiser.lr=1'], 'optimizer'),
      'wrong type': (['--config.num_steps=ten'], 'expects an integer'),
      'missing data set': (['--config.data.name=mnist', f'--config.data.data_dir={env.root}/none'],
                           'tfds build mnist'),
      'batch not divisible': (['--config.data.batch_size=12'], 'not divisible by the 8 devices'),
      'model/data mismatch': (['--config.model.variant=lenet5'], 'image (128, 8, 8, 1)'),
      'workdir of another config': (['--config.optimizer.learning_rate=0.5'], '--overwrite'),
  }
  env8 = dict(env.env, XLA_FLAGS='--xla_force_host_platform_device_count=8')
  bad = []
  for name, (args, needle) in cases.items():
    wd = other if name == 'workdir of another config' else env.workdir('bad')
    rc, _, err = env.run(wd, *args, env=env8)
    line = one_line_error(err)
    if rc != 2 or 'Traceback' in err or not line.startswith('nnzoo: error:') or needle not in line:
      bad.append(f'{name} (exit {rc}: {line[:120]})')
  return (f'{len(cases) - len(bad)}/{len(cases)} one-line exit-2 errors' +
          (': ' + '; '.join(bad) if bad else '')), not bad


def torn_metrics_tail(env):
  """The process was killed while appending a row to metrics.jsonl: the resumed run drops the
  half line with a warning instead of dying on it."""
  wd = env.workdir('torn_metrics')
  rc, _, err = env.run(wd, '--stop_after=20')
  if rc != 0:
    return f'first run failed: {one_line_error(err)}', False
  with open(os.path.join(wd, 'metrics.jsonl'), 'a') as f:
    f.write('{"step": 21, "split": "train", "loss": 0.1')
  rc, _, err = env.run(wd)
  if rc != 0:
    return f'resume failed: exit {rc}: {one_line_error(err)}', False
  warned = 'not whole JSON' in err
  whole = all(line.rstrip('\n').endswith('}') for line in open(os.path.join(wd, 'metrics.jsonl')))
  equal = same(final_params(wd), env.reference())
  return (f'exit 0; warning: {"yes" if warned else "NO"}; metrics.jsonl whole: {whole}; '
          f'params {"==" if equal else "!="} reference'), warned and whole and equal


def second_run_same_workdir(env):
  """A second `python -m train` on a workdir in use stops with one line naming the first run's
  pid and host, and leaves the first alone."""
  wd = env.workdir('second_run')
  long = '--config.num_steps=100000'   # still running when the second arrives
  first = env.start(wd, long)
  if not wait_for(lambda: last_step(wd) >= 2, 240):
    first.kill()
    return 'the first run never reached step 2', False
  rc, _, err = env.run(wd, long)
  line = one_line_error(err)
  refused = (rc == 2 and 'Traceback' not in err and line.startswith('nnzoo: error:')
             and f'pid {first.pid} on host' in line)
  undisturbed = first.poll() is None
  first.send_signal(signal.SIGTERM)
  try:
    first.communicate(timeout=60)
  except subprocess.TimeoutExpired:
    first.kill()
    return 'the first run did not stop within 60 s of SIGTERM', False
  steps = [json.loads(l)['step'] for l in open(os.path.join(wd, 'metrics.jsonl'))
           if '"train"' in l]
  released = not os.path.exists(os.path.join(wd, 'lock'))
  ok = (refused and undisturbed and first.returncode == 0 and released
        and steps == list(range(1, len(steps) + 1)))
  return (f'second: exit {rc}: "{line[13:100]}..."; first ran on undisturbed: {undisturbed}, '
          f'exit {first.returncode} at step {len(steps)}, lock released: {released}'), ok


@contextlib.contextmanager
def _small_disk(path, size):
  os.makedirs(path, exist_ok=True)
  r = subprocess.run(['mount', '-t', 'tmpfs', '-o', f'size={size}', 'tmpfs', path],
                     capture_output=True, text=True)
  if r.returncode != 0:
    raise PermissionError(r.stderr.strip() or 'mount failed')
  try:
    yield path
  finally:
    subprocess.run(['umount', '-l', path], capture_output=True)


def disk_full_while_saving(env):
  mount = os.path.join(env.root, 'smalldisk')
  try:
    with _small_disk(mount, '320k') as wd:
      p = env.start(wd, '--config.ckpt_every=5', '--config.num_steps=400')
      try:
        _, err = p.communicate(timeout=240)
      except subprocess.TimeoutExpired:
        p.kill()
        return 'hung with a full disk', False
      line = one_line_error(err)
      steps = sorted(int(d) for d in os.listdir(os.path.join(wd, 'checkpoints')) if d.isdigit())
      intact = False
      if steps:
        try:
          intact = final_params(wd)[0] == steps[-1]
        except Exception:  # noqa: BLE001
          intact = False
      ok = p.returncode == 4 and 'disk full' in line and intact
      return (f'exit {p.returncode}: "{line[13:70]}..."; newest complete checkpoint step '
              f'{steps[-1] if steps else None} restorable: {intact}'), ok
  except PermissionError as e:   # not a pass: nothing was checked (None = skipped)
    return f'SKIPPED: cannot mount a small tmpfs here ({e})', None


def dead_worker(env):
  """2 processes x 1 device through launch/local.py; SIGKILL rank 1 mid-run."""
  wd = env.workdir('dead_worker')
  cmd = [sys.executable, '-m', 'launch.local', '--num_processes', '2', '--devices_per_process', '1',
         '--grace', '60', '--', sys.executable, '-m', 'train', '--config', CONFIG, '--workdir', wd,
         *COMMON, '--config.num_steps=100000']
  env_mp = dict(env.env, NNZOO_HEARTBEAT_TIMEOUT_SECONDS='10')
  env_mp.pop('XLA_FLAGS', None)
  p = subprocess.Popen(cmd, cwd=REPO, env=env_mp, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
  pids = os.path.join(wd, 'logs', 'pids')
  if not wait_for(lambda: last_step(wd) >= 12 and os.path.exists(pids), 240):
    p.kill()
    return 'the 2-process run never reached step 12', False
  rank1 = int(dict(line.split() for line in open(pids).read().splitlines())['1'])
  os.kill(rank1, signal.SIGKILL)
  t0 = time.time()
  try:
    _, err = p.communicate(timeout=90)
  except subprocess.TimeoutExpired:
    p.kill()
    return 'the other rank hung for 90 s after its peer died', False
  took = time.time() - t0
  named = 'rank 1 died first' in err
  on_its_own = '(by the launcher)' not in err
  ok = p.returncode != 0 and named and took < 60
  return (f'launcher exit {p.returncode} after {took:.0f} s; names rank 1: {named}; rank 0 exited '
          f'on its own: {on_its_own}; checkpoints kept: '
          f'{sorted(d for d in os.listdir(os.path.join(wd, "checkpoints")) if d.isdigit())}'), ok


FAULTS = [sigterm_mid_training, sigint_mid_training, sigterm_during_startup,
          kill9_during_async_save, truncated_newest_checkpoint, torn_metrics_tail,
          second_run_same_workdir, nonfinite_loss, bad_inputs, disk_full_while_saving, dead_worker]


def main():
  env = Env()
  print(f'scratch: {env.root}; reference: {STEPS} uninterrupted steps', flush=True)
  env.reference()
  rows, failed, skipped = [], 0, 0
  for fault in FAULTS:
    t0 = time.time()
    try:
      outcome, ok = fault(env)
    except Exception as e:  # noqa: BLE001 - a crashing fault check is a failed fault
      outcome, ok = f'check crashed: {type(e).__name__}: {e}', False
    result = 'SKIPPED' if ok is None else 'ok' if ok else 'LOST/FAILED'
    rows.append((fault.__name__, result, f'{time.time() - t0:.0f}s', outcome))
    failed += ok is False
    skipped += ok is None
    print(f'  {fault.__name__}: {result} ({rows[-1][2]})', flush=True)
  w = [max(len(r[i]) for r in rows) for i in range(3)]
  print()
  print(f'{"fault":<{w[0]}}  {"result":<{w[1]}}  {"time":>{w[2]}}  outcome')
  for r in rows:
    print(f'{r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[2]:>{w[2]}}  {r[3]}')
  print(f'\n{len(rows) - failed - skipped} passed, {failed} failed, {skipped} skipped (not checked '
        f'here)')
  shutil.rmtree(env.root, ignore_errors=True)
  return 1 if failed else 0


if __name__ == '__main__':
  sys.exit(main())
