"""The multi-host path on one machine: 2 processes x 4 CPU devices (launch/local.py) train like
1 process x 8 devices, checkpoint, die together when one rank is killed, resume, and stop together
when only one rank gets SIGTERM."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from launch import local
from train import config as config_lib
from train import loop

TINY = 'experiments/zoo/cnn_digits.py:tiny'
# Constant learning rate: the resumed run may then stop at another num_steps without changing the
# schedule, so every step's loss is comparable with the reference run's.
OVERRIDES = {'log_every': 1, 'plots': False, 'eval_every': 0, 'ckpt_every': 40,
             'optimizer.schedule': 'constant'}
REFERENCE_STEPS = 100
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # launch.local runs from here


def train_losses(workdir) -> dict:
  """step -> loss; a step logged twice (before a crash and after the resume) keeps the last."""
  out = {}
  path = os.path.join(workdir, 'metrics.jsonl')
  if not os.path.exists(path):
    return out
  with open(path) as f:
    for line in f:
      try:
        row = json.loads(line)
      except json.JSONDecodeError:  # a line cut by the crash
        continue
      if row['split'] == 'train':
        out[row['step']] = row['loss']
  return out


def launch(workdir, num_steps, **kwargs):
  flags = [f'--config.{k}={v}' for k, v in OVERRIDES.items()] + [f'--config.num_steps={num_steps}']
  cmd = [sys.executable, '-m', 'launch.local', '--num_processes', '2', '--devices_per_process',
         '4', '--heartbeat_timeout', '10', '--grace', '45', '--',
         sys.executable, '-m', 'train', '--config', TINY, '--workdir', str(workdir)] + flags
  return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          cwd=REPO, **kwargs)


def test_launcher_builds_each_rank_environment():
  assert local.with_distributed(['python', '-m', 'train', '--workdir', 'w']) == [
      'python', '-m', 'train', '--workdir', 'w', '--distributed']
  assert local.with_distributed(['python', 'other.py']) == ['python', 'other.py']
  assert local.workdir_of(['x', '--workdir=runs/a']) == 'runs/a'
  env = local.rank_env(1, 2, '127.0.0.1:1234', 4, 10,
                       base={'XLA_FLAGS': '--a --xla_force_host_platform_device_count=8'})
  assert env['JAX_PROCESS_ID'] == '1' and env['JAX_NUM_PROCESSES'] == '2'
  assert env['JAX_COORDINATOR_ADDRESS'] == '127.0.0.1:1234'
  assert env['XLA_FLAGS'] == '--a --xla_force_host_platform_device_count=4'
  assert env['NNZOO_HEARTBEAT_TIMEOUT_SECONDS'] == '10'
  assert local.describe_exit(-9) == 'killed by SIGKILL' and local.describe_exit(3) == 'exit code 3'


# Each rank of the test below: rank 1 kills itself; rank 0 aborts 10 ms later, as a real peer does
# once its collectives fail.
DIE_IN_TURN = """
import os, signal, sys, time
if os.environ['JAX_PROCESS_ID'] == '1':
  open(sys.argv[1], 'w').close()
  os.kill(os.getpid(), signal.SIGKILL)
while not os.path.exists(sys.argv[1]):
  time.sleep(0.001)
time.sleep(0.01)
os.abort()
"""


def test_launcher_names_the_rank_that_died_first_when_its_peer_follows_within_milliseconds(
    tmp_path):
  out = subprocess.run(
      [sys.executable, '-m', 'launch.local', '--num_processes', '2', '--devices_per_process', '0',
       '--log_dir', str(tmp_path / 'logs'), '--', sys.executable, '-c', DIE_IN_TURN,
       str(tmp_path / 'rank1_gone')],
      capture_output=True, text=True, timeout=60,
      cwd=REPO)
  assert out.returncode == 1, out.stderr
  assert 'FAILED: rank 1 died first (killed by SIGKILL); rank 0: killed by SIGABRT, rank 1: ' \
         'killed by SIGKILL.' in out.stderr, out.stderr
  assert 'by the launcher' not in out.stderr, out.stderr   # rank 0 went on its own, no grace wait


# Each rank of the test below stops on SIGTERM, except rank 1 when told to ignore it (argv[2]).
STOP_ON_SIGTERM = """
import os, signal, sys, time
rank = os.environ['JAX_PROCESS_ID']
if rank == '1' and len(sys.argv) > 2:
  signal.signal(signal.SIGTERM, signal.SIG_IGN)
else:
  signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
open(sys.argv[1] + rank, 'w').close()
time.sleep(60)
"""


@pytest.mark.parametrize('rank1_ignores_it', [False, True])
def test_launcher_forwards_sigterm_and_kills_a_rank_that_does_not_stop(tmp_path, rank1_ignores_it):
  up = str(tmp_path / 'up')
  proc = subprocess.Popen(
      [sys.executable, '-m', 'launch.local', '--num_processes', '2', '--devices_per_process', '0',
       '--stop_timeout', '1', '--log_dir', str(tmp_path / 'logs'), '--', sys.executable, '-c',
       STOP_ON_SIGTERM, up] + (['ignore'] if rank1_ignores_it else []),
      stderr=subprocess.PIPE, text=True,
      cwd=REPO)
  try:
    deadline = time.monotonic() + 30
    while not (os.path.exists(up + '0') and os.path.exists(up + '1')):
      assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
      time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
  finally:
    if proc.poll() is None:
      proc.kill()
  assert 'got signal 15: forwarding it to every rank' in err, err
  if not rank1_ignores_it:
    assert proc.returncode == 0, err
    assert 'FAILED' not in err, err
  else:
    assert proc.returncode == 1, err
    assert 'killing ranks [1]: they did not stop after the forwarded signal' in err, err
    assert ('FAILED: ranks [1] did not stop after the forwarded signal; rank 0: exit code 0, '
            'rank 1: killed by SIGKILL (by the launcher).') in err, err
    assert 'died' not in err, err   # the launcher killed it: no rank "died first"


@pytest.mark.slow  # in CI (.ci/run), not in the 10-minute default run
def test_two_processes_train_like_one_die_together_and_resume(data_dir, tmp_path):
  # Reference: 1 process x 8 devices, in this process.
  c = config_lib.load(TINY)
  config_lib.apply_overrides(c, [f'--config.{k}={v}' for k, v in OVERRIDES.items()] +
                             [f'--config.num_steps={REFERENCE_STEPS}'])
  loop.train_and_evaluate(c, tmp_path / 'one', progress=False)
  reference = train_losses(tmp_path / 'one')

  # 2 processes x 4 devices, run "forever"; once step 50 is logged and checkpoint 40 written, one
  # rank is SIGKILLed.
  workdir = tmp_path / 'two'
  proc = launch(workdir, 100000)
  ckpt = workdir / 'checkpoints' / '40'
  try:
    deadline = time.monotonic() + 120
    while not (len(train_losses(workdir)) >= 50 and ckpt.exists()):
      assert proc.poll() is None, proc.communicate()
      assert time.monotonic() < deadline, 'the 2-process run did not reach step 50 in 120 s'
      time.sleep(0.2)
    pids = dict(line.split() for line in (workdir / 'logs' / 'pids').read_text().splitlines())
    os.kill(int(pids['1']), signal.SIGKILL)
    killed_at = time.monotonic()
    out, err = proc.communicate(timeout=60)
    died_within = time.monotonic() - killed_at
  finally:
    if proc.poll() is None:
      proc.kill()
      proc.communicate()

  losses = train_losses(workdir)
  steps = range(1, 51)
  np.testing.assert_allclose([losses[s] for s in steps], [reference[s] for s in steps], rtol=1e-4)

  assert proc.returncode != 0
  assert died_within < 60
  assert 'rank 1 died first (killed by SIGKILL)' in err, err[-3000:]
  assert 'rank 0: ' in err and 'rank 0: exit code 0' not in err
  assert '(by the launcher)' not in err, f'rank 0 did not exit on its own: {err[-2000:]}'
  assert (workdir / 'logs' / 'rank0.log').exists() and (workdir / 'logs' / 'rank1.log').exists()

  # Resume with the same process count from the newest checkpoint; the steps after it match the
  # reference too. Then SIGTERM reaches rank 0 only (a preemption notice arrives at hosts at
  # different moments): both ranks must stop at the same step, checkpoint it and exit 0.
  latest = max(int(p.name) for p in (workdir / 'checkpoints').iterdir() if p.name.isdigit())
  assert latest + 10 <= REFERENCE_STEPS
  rows_before = len((workdir / 'metrics.jsonl').read_text().splitlines())
  proc = launch(workdir, 100000)
  try:
    deadline = time.monotonic() + 120
    # 10 steps logged by the resumed run: its signal handlers are in place by then.
    while len((workdir / 'metrics.jsonl').read_text().splitlines()) < rows_before + 10:
      assert proc.poll() is None, proc.communicate()
      assert time.monotonic() < deadline, 'the resumed run did not take 10 steps in 120 s'
      time.sleep(0.2)
    pids = dict(line.split() for line in (workdir / 'logs' / 'pids').read_text().splitlines())
    os.kill(int(pids['0']), signal.SIGTERM)
    out, err = proc.communicate(timeout=90)
  finally:
    if proc.poll() is None:
      proc.kill()
      proc.communicate()
  assert proc.returncode == 0, err[-3000:]
  assert f'resumed from step {latest}' in (workdir / 'logs' / 'rank0.log').read_text()
  summary = json.loads((workdir / 'summary.json').read_text())
  stopped = summary['step']
  assert summary['preempted'] and summary['processes'] == 2 and summary['devices'] == 8
  assert (workdir / 'checkpoints' / str(stopped)).exists()
  losses = train_losses(workdir)
  steps = range(latest + 1, latest + 11)
  np.testing.assert_allclose([losses[s] for s in steps], [reference[s] for s in steps], rtol=1e-4)


POPULATION_CONFIG = '''
from experiments.nas import make_table
from models import nas_mlp


def get_config(arg=''):
  c = make_table.config(seed=0, archs=nas_mlp.VARIANTS['population_tiny'][1]['archs'],
                        num_steps=20)
  c.mesh.data, c.mesh.model = 2, -1     # one data shard per host, the candidates over its devices
  c.log_every = 1
  return c
'''


@pytest.mark.slow  # in CI (.ci/run), not in the 10-minute default run
def test_population_of_candidates_trains_across_two_hosts_like_on_one(data_dir, tmp_path):
  """NAS's parallel candidates (one vmapped step, the population axis over the 'model' mesh axis)
  run across 2 processes x 4 devices exactly as on 1 process x 8 devices."""
  spec = tmp_path / 'population.py'
  spec.write_text(POPULATION_CONFIG)
  loop.train_and_evaluate(config_lib.load(str(spec)), tmp_path / 'one', progress=False)
  reference = train_losses(tmp_path / 'one')
  cmd = [sys.executable, '-m', 'launch.local', '--num_processes', '2', '--devices_per_process',
         '4', '--heartbeat_timeout', '30', '--', sys.executable, '-m', 'train', '--config',
         str(spec), '--workdir', str(tmp_path / 'two')]
  r = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                     cwd=REPO)
  assert r.returncode == 0, r.stderr[-3000:]
  summary = json.loads((tmp_path / 'two' / 'summary.json').read_text())
  assert summary['processes'] == 2 and summary['devices'] == 8
  losses = train_losses(tmp_path / 'two')
  assert sorted(losses) == sorted(reference) == list(range(1, 21))
  np.testing.assert_allclose([losses[s] for s in range(1, 21)],
                             [reference[s] for s in range(1, 21)], rtol=1e-5)
  assert losses[20] < losses[1]
