"""Every file a run writes survives a kill at any byte: metrics.jsonl, summary.json,
config.json, TensorBoard events, plots, checkpoints.

test_killed_many_times_resumes_to_the_uninterrupted_result (slow) SIGKILLs one small run at
KILLS moments spread over its life — timed from its start (imports, config.json, the lock, the
data, the compile) or triggered as a file appears or grows (a metrics row, an asynchronous
checkpoint in flight, a picture, the TensorBoard events, summary.json) — and resumes it in the
same workdir after each; the moments are seeded (NNZOO_KILL_SEED). After every kill, what is on
disk must read back; at the end the run exits 0 with the parameters of an uninterrupted run, bit
for bit, and its metrics, summary, config, pictures and events are whole and without duplicates.

The rest are deterministic: metrics.jsonl torn at every byte of its last line (a kill
mid-append), and an events file torn at every byte of its last record.
"""

import json
import os
import random
import signal
import struct
import time

import pytest

from tests import faults
from train import metrics as metrics_lib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(REPO, 'experiments/zoo/cnn_digits.py:tiny')
STEPS = 48
ARGS = [f'--config.num_steps={STEPS}', '--config.ckpt_every=4', '--config.eval_every=8',
        '--config.log_every=1', '--config.plots=True', '--config.keep_ckpts=2']
KILLS = int(os.environ.get('NNZOO_KILLS', '10'))
SEED = int(os.environ.get('NNZOO_KILL_SEED', '21'))
POLL_S = 0.002


# --- TensorBoard events, read as TensorBoard reads them ------------------------------------------

def read_records(path):
  """The whole records of a TFRecord file, and whether it ended in a torn one (a writer killed
  mid-record: TensorBoard treats it as still being written and reads up to it)."""
  data = open(path, 'rb').read()
  records, pos = [], 0
  while pos < len(data):
    if pos + 12 > len(data):
      return records, True
    (length,) = struct.unpack('<Q', data[pos:pos + 8])
    if pos + 12 + length + 4 > len(data):
      return records, True
    records.append(data[pos + 12:pos + 12 + length])
    pos += 12 + length + 4
  return records, False


def scalar_steps(directory, tag):
  """{step: count} of `tag` over a run's event files in TensorBoard's order, with its purge rule:
  a SessionLog START at step s drops the earlier files' events at step >= s."""
  from tensorboardX.proto.event_pb2 import Event, SessionLog
  seen = []   # (step, file index)
  files = sorted(f for f in os.listdir(directory) if 'tfevents' in f)
  for i, name in enumerate(files):
    records, _ = read_records(os.path.join(directory, name))
    for record in records:
      event = Event.FromString(record)
      if event.HasField('session_log') and event.session_log.status == SessionLog.START:
        seen = [(s, f) for s, f in seen if s < event.step or f == i]
      for value in event.summary.value:
        if value.tag == tag:
          seen.append((event.step, i))
  counts = {}
  for step, _ in seen:
    counts[step] = counts.get(step, 0) + 1
  return counts


# --- What a workdir must hold after any kill ---------------------------------------------------

def check_readable(workdir):
  """Everything on disk reads back after a kill (a torn metrics tail is allowed: the next run
  drops it). Returns what is wrong ([] if nothing)."""
  wrong = []
  for name in ('config.json', 'summary.json'):
    path = os.path.join(workdir, name)
    if os.path.exists(path):
      try:
        json.load(open(path))
      except ValueError as e:
        wrong.append(f'{name} is not JSON: {e}')
  path = os.path.join(workdir, 'metrics.jsonl')
  if os.path.exists(path):
    lines = open(path).read().split('\n')
    for number, line in enumerate(lines[:-1], 1):   # every line but an unterminated tail
      try:
        json.loads(line)
      except ValueError:
        wrong.append(f'metrics.jsonl line {number} of {len(lines) - 1} is not JSON: {line[:60]!r}')
    metrics_lib.read(workdir)
  plots = os.path.join(workdir, 'plots')
  if os.path.isdir(plots):
    from PIL import Image
    for name in os.listdir(plots):
      if name.endswith('.png') and not name.startswith('.'):
        try:
          with Image.open(os.path.join(plots, name)) as image:
            image.load()
        except Exception as e:  # noqa: BLE001 - any failure to read is a torn picture
          wrong.append(f'plots/{name} does not read: {type(e).__name__}: {e}')
  return wrong


# --- Kill moments -------------------------------------------------------------------------------

def kill_moments(seed=SEED, n=KILLS):
  """n seeded (kind, parameter) pairs: when to kill one run after it starts. The kinds in a
  seeded order, the last kill as summary.json appears (the run done but not yet exited)."""
  rng = random.Random(seed)
  kinds = ['time', 'metrics', 'checkpoint', 'plot', 'events']
  order = [kinds[i % len(kinds)] for i in range(n - 1)]
  rng.shuffle(order)
  out = []
  for kind in order:
    if kind == 'time':
      out.append(('time', round(rng.uniform(0.3, 5.0), 3)))   # start-up, compile, first steps
    elif kind == 'metrics':
      out.append(('metrics', rng.randint(1, 3000)))   # bytes more than at the start
    else:
      out.append((kind, None))
  return out + [('summary', None)]


def _size(path):
  try:
    return os.path.getsize(path)
  except OSError:
    return 0


def _events_size(workdir):
  d = os.path.join(workdir, 'tensorboard')
  return sum(_size(os.path.join(d, f)) for f in os.listdir(d)) if os.path.isdir(d) else 0


def _saves(workdir):
  """The asynchronous checkpoint saves in flight (orbax's temporary step directories)."""
  d = os.path.join(workdir, 'checkpoints')
  return {f for f in os.listdir(d) if 'tmp' in f} if os.path.isdir(d) else set()


def _drawing(workdir, before):
  d = os.path.join(workdir, 'plots')
  if not os.path.isdir(d):
    return False
  return any('.tmp-' in f or os.stat(os.path.join(d, f)).st_mtime_ns > before.get(f, 0)
             for f in os.listdir(d))


def _mtimes(workdir):
  d = os.path.join(workdir, 'plots')
  return {f: os.stat(os.path.join(d, f)).st_mtime_ns for f in os.listdir(d)} if os.path.isdir(
      d) else {}


def wait_for_moment(p, moment, workdir, limit_s=240):
  """Polls until the moment comes (True) or the run ends first (False)."""
  kind, arg = moment
  t0 = time.time()
  metrics = os.path.join(workdir, 'metrics.jsonl')
  summary = os.path.join(workdir, 'summary.json')
  start = {'metrics': _size(metrics), 'events': _events_size(workdir), 'plots': _mtimes(workdir),
           'saves': _saves(workdir),
           'summary': os.stat(summary).st_mtime_ns if os.path.exists(summary) else 0}
  while p.poll() is None and time.time() - t0 < limit_s:
    if ((kind == 'time' and time.time() - t0 >= arg)
        or (kind == 'metrics' and _size(metrics) >= start['metrics'] + arg)
        or (kind == 'checkpoint' and _saves(workdir) - start['saves'])
        or (kind == 'plot' and _drawing(workdir, start['plots']))
        or (kind == 'events' and _events_size(workdir) > start['events'] + 200)
        or (kind == 'summary' and os.path.exists(summary)
            and os.stat(summary).st_mtime_ns > start['summary'])):
      return True
    time.sleep(POLL_S)
  return False


@pytest.mark.slow  # ~12 starts of a small run: 2-3 minutes on 2 cores (CI)
def test_killed_many_times_resumes_to_the_uninterrupted_result(tmp_path):
  env = faults.Env(root=str(tmp_path), devices=1)
  ref = env.workdir('reference')
  rc, _, err = env.run(ref, *ARGS)
  assert rc == 0, err[-3000:]
  reference = faults.final_params(ref)

  wd = env.workdir('killed')
  log, wrong = [], []
  for moment in kill_moments():
    p = env.start(wd, *ARGS)
    caught = wait_for_moment(p, moment, wd)
    if caught:
      p.send_signal(signal.SIGKILL)
    _, err = p.communicate(timeout=120)
    rows = metrics_lib.read(wd) if os.path.exists(os.path.join(wd, 'metrics.jsonl')) else []
    log.append(f'{moment[0]}({moment[1]}): {"killed" if caught else f"ended, exit {p.returncode}"}'
               f' at metrics step {max((r["step"] for r in rows), default=0)}')
    if not caught and p.returncode != 0:
      pytest.fail(f'a resumed run failed on its own (exit {p.returncode}):\n{err[-3000:]}\n'
                  + '\n'.join(log))
    wrong += [f'after {log[-1]}: {w}' for w in check_readable(wd)]
  print(f'NNZOO_KILL_SEED={SEED}:\n  ' + '\n  '.join(log))
  assert not wrong, '\n'.join(wrong)

  rc, _, err = env.run(wd, *ARGS)   # the last run, left to finish
  assert rc == 0, err[-3000:]
  assert faults.same(faults.final_params(wd), reference), 'params differ from the reference run'
  assert not check_readable(wd)
  lines = open(os.path.join(wd, 'metrics.jsonl')).read().splitlines()
  rows = [json.loads(line) for line in lines]   # every line whole
  for split in ('train', 'eval'):
    steps = [r['step'] for r in rows if r['split'] == split]
    assert steps == sorted(set(steps)), f'{split} steps not strictly increasing: {steps}'
  assert [r['step'] for r in rows if r['split'] == 'train'] == list(range(1, STEPS + 1))
  assert [r['step'] for r in rows if r['split'] == 'eval'] == [8, 16, 24, 32, 40, 48]
  summary = json.load(open(os.path.join(wd, 'summary.json')))
  assert summary['step'] == STEPS and not summary['preempted']
  assert json.load(open(os.path.join(wd, 'config.json')))['num_steps'] == STEPS
  # TensorBoard sees every step once: the killed runs' steps past their checkpoint are purged.
  assert scalar_steps(os.path.join(wd, 'tensorboard'), 'train/loss') == {
      s: 1 for s in range(1, STEPS + 1)}
  assert scalar_steps(os.path.join(wd, 'tensorboard'), 'eval/accuracy') == {
      s: 1 for s in range(8, STEPS + 1, 8)}
  assert os.path.exists(os.path.join(wd, 'plots', 'learning_curves.png'))
  litter = [os.path.join(d, f) for d, _, files in os.walk(wd) for f in files if '.tmp-' in f]
  assert not litter, litter
  assert not os.path.exists(os.path.join(wd, 'lock'))


# --- Torn at every byte ---------------------------------------------------------------------------

def test_metrics_torn_at_every_byte_of_the_last_line(tmp_path):
  """A kill mid-append leaves any prefix of the last row: readers skip it, and the resumed run's
  truncate_after leaves only whole rows, ending in a newline, so its next append is whole too."""
  rows = [{'step': s, 'split': 'train', 'loss': 1.0 / s, 'lr': 0.01} for s in (1, 2, 3)]
  rows.append({'step': 3, 'split': 'eval', 'accuracy': 0.5, 'loss': 'nan'})
  text = ''.join(json.dumps(r) + '\n' for r in rows)
  head = text[:text.rindex('{')]   # all but the last row
  for cut in range(len(head), len(text) + 1):
    (tmp_path / 'metrics.jsonl').write_text(text[:cut])
    whole = cut >= len(text) - 1   # the row's text is complete (with or without its newline)
    assert metrics_lib.read(tmp_path) == (rows if whole else rows[:-1]), cut
    metrics_lib.truncate_after(tmp_path, 3)
    after = (tmp_path / 'metrics.jsonl').read_text()
    assert after == (text if whole else head), cut
    with open(tmp_path / 'metrics.jsonl', 'a') as f:   # the resumed run appends its next row
      f.write(json.dumps({'step': 4, 'split': 'train', 'loss': 0.1}) + '\n')
    assert [r['step'] for r in metrics_lib.read(tmp_path)] == [1, 2, 3] + [3] * whole + [4], cut
  metrics_lib.truncate_after(tmp_path, 2)   # resumed from step 2: later rows go
  assert [r['step'] for r in metrics_lib.read(tmp_path)] == [1, 2]


def test_events_torn_at_every_byte_of_the_last_record(tmp_path):
  """The events writer: each scalar is on disk when write returns; a file cut at any byte holds
  whole records up to the cut (TensorBoard reads those), and the next run's file purges the
  steps past its checkpoint."""
  import jax   # noqa: F401 - MetricWriter asks for the process index
  first = metrics_lib.MetricWriter(tmp_path, 10, 0, show_progress=False)
  for step in (1, 2, 3):
    first.write(step, 'train', {'loss': 1.0 / step})
  directory = tmp_path / 'tensorboard'
  (name,) = os.listdir(directory)   # not closed: as a killed run leaves it
  data = (directory / name).read_bytes()
  assert scalar_steps(directory, 'train/loss') == {1: 1, 2: 1, 3: 1}
  records, torn = read_records(directory / name)
  assert not torn and len(records) == 1 + 1 + 3   # version, purge marker, three scalars
  last = len(data) - (len(records[-1]) + 16)
  for cut in range(last, len(data) + 1):
    (directory / name).write_bytes(data[:cut])
    records, torn = read_records(directory / name)
    assert torn == (last < cut < len(data)) and len(records) == 4 + (cut == len(data)), cut
  first.close()
  (directory / name).write_bytes(data[:last + 7])   # killed mid-record at step 3
  second = metrics_lib.MetricWriter(tmp_path, 10, 2, show_progress=False)   # resumed from step 2
  for step in (3, 4):
    second.write(step, 'train', {'loss': 0.5 / step})
  second.close()
  assert scalar_steps(directory, 'train/loss') == {1: 1, 2: 1, 3: 1, 4: 1}
  assert len(os.listdir(directory)) == 2


def test_tensorboard_purge_drops_a_killed_runs_later_steps(tmp_path):
  """A killed run logged steps 1..7 but checkpointed at 4: the resumed run logs 5.. again, and
  TensorBoard (by the purge marker) shows each step once."""
  killed = metrics_lib.MetricWriter(tmp_path, 10, 0, show_progress=False)
  for step in range(1, 8):
    killed.write(step, 'train', {'loss': float(step)})
  resumed = metrics_lib.MetricWriter(tmp_path, 10, 4, show_progress=False)
  for step in range(5, 11):
    resumed.write(step, 'train', {'loss': float(step)})
  resumed.close()
  killed.close()
  assert scalar_steps(tmp_path / 'tensorboard', 'train/loss') == {s: 1 for s in range(1, 11)}
