"""Elastic resume: a run checkpointed on 8 devices (or 2 processes x 4) resumes on 4 devices, on 1
process or on 4 processes x 2 with the same global batch, and its losses equal the uninterrupted
run's (1e-5 relative, every one of 50 steps); a batch the new devices cannot divide is one line,
exit 2. Dropout and a random flip make the loss depend on which example sits in which row of the
global batch (each row's mask and flip follow the row), not only on the batch's set of examples.
"""

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from train import config as config_lib
from train import loop

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = 'experiments/zoo/cnn_digits.py:tiny'
STEPS, CUT = 50, 25
OVERRIDES = {'log_every': 1, 'plots': False, 'eval_every': 0, 'ckpt_every': CUT,
             'num_steps': STEPS, 'model.dropout': 0.3, 'data.augment': "('flip_left_right()',)"}
FLAGS = [f'--config.{k}={v}' for k, v in OVERRIDES.items()]


def train_losses(workdir) -> dict:
  """step -> loss of the train rows of metrics.jsonl (a resumed run's rows replace the cut's)."""
  out = {}
  with open(os.path.join(workdir, 'metrics.jsonl')) as f:
    for line in f:
      row = json.loads(line)
      if row['split'] == 'train':
        out[row['step']] = row['loss']
  return out


def in_process(workdir, stop_after=0):
  """A run on this test process's 8 devices."""
  c = config_lib.load(TINY)
  config_lib.apply_overrides(c, FLAGS)
  return loop.train_and_evaluate(c, workdir, stop_after=stop_after, progress=False)


def env_with_devices(n: int) -> dict:
  env = dict(os.environ)
  flags = re.sub(r'--xla_force_host_platform_device_count=\d+', '', env.get('XLA_FLAGS', ''))
  env['XLA_FLAGS'] = f'{flags} --xla_force_host_platform_device_count={n}'.strip()
  return env


def one_process(workdir, devices: int, extra=()):
  cmd = [sys.executable, '-m', 'train', '--config', TINY, '--workdir', str(workdir), *FLAGS,
         *extra]
  return subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT,
                        env=env_with_devices(devices))


def processes(workdir, count: int, devices: int, extra=()):
  cmd = [sys.executable, '-m', 'launch.local', '--num_processes', str(count),
         '--devices_per_process', str(devices), '--heartbeat_timeout', '30', '--',
         sys.executable, '-m', 'train', '--config', TINY, '--workdir', str(workdir), *FLAGS,
         *extra]
  return subprocess.run(cmd, capture_output=True, text=True, timeout=500, cwd=ROOT)


def assert_same_curve(workdir, reference):
  losses = train_losses(workdir)
  assert sorted(losses) == list(range(1, STEPS + 1))
  np.testing.assert_allclose([losses[s] for s in range(1, STEPS + 1)],
                             [reference[s] for s in range(1, STEPS + 1)], rtol=1e-5, atol=0)


@pytest.fixture(scope='module')
def reference(data_dir, tmp_path_factory):
  """The uninterrupted run: 1 process, 8 devices, 50 steps."""
  workdir = tmp_path_factory.mktemp('elastic') / 'uninterrupted'
  in_process(workdir)
  return train_losses(workdir)


@pytest.mark.slow  # in CI (.ci/run), not in the 10-minute default run
def test_eight_devices_resume_on_four_and_refuse_three(reference, tmp_path):
  workdir = tmp_path / 'cut'
  assert in_process(workdir, stop_after=CUT)['step'] == CUT
  saved = tmp_path / 'saved'
  shutil.copytree(workdir, saved)

  # 128 examples a batch do not split over 3 devices: one line, exit 2, nothing written.
  r = one_process(saved, 3)
  assert r.returncode == 2, r.stderr[-2000:]
  lines = r.stderr.strip().splitlines()
  assert len(lines) == 1 and 'batch_size=128 is not divisible by the 3 devices' in lines[0], lines

  r = one_process(workdir, 4)
  assert r.returncode == 0, r.stderr[-3000:]
  assert f'resumed from step {CUT}' in r.stderr
  summary = json.loads((workdir / 'summary.json').read_text())
  assert (summary['devices'], summary['step']) == (4, STEPS)
  assert_same_curve(workdir, reference)


@pytest.mark.slow  # in CI (.ci/run), not in the 10-minute default run
def test_two_processes_resume_on_one_process_and_on_four(reference, tmp_path):
  cut = tmp_path / 'cut'
  r = processes(cut, 2, 4, ['--stop_after', str(CUT)])
  assert r.returncode == 0, r.stderr[-3000:]
  assert json.loads((cut / 'summary.json').read_text())['processes'] == 2

  for name, run in (('one', lambda w: one_process(w, 4)),
                    ('four', lambda w: processes(w, 4, 2))):
    workdir = tmp_path / name
    shutil.copytree(cut, workdir)
    r = run(workdir)
    assert r.returncode == 0, (name, r.stderr[-3000:])
    summary = json.loads((workdir / 'summary.json').read_text())
    expected = {'one': (1, 4), 'four': (4, 8)}[name]
    assert (summary['processes'], summary['devices'], summary['step']) == expected + (STEPS,)
    assert_same_curve(workdir, reference)
