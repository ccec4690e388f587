"""Where numbers go: `metrics.jsonl` (one JSON object per line), TensorBoard events, and a progress
bar. Only process 0 writes; the others get a writer that does nothing.

Both files survive a kill at any byte. metrics.jsonl: a torn last line is dropped when the run
resumes (truncate_after), which also drops the rows past the checkpoint it resumes from. Events:
each is on disk when `write` returns (a synchronous writer, no queue thread that a kill would
empty), every run writes its own file, and that file starts with TensorBoard's purge marker (a
SessionLog START at the first step the run will log), so TensorBoard drops the earlier files'
events past the checkpoint the run resumed from; a torn last record of a killed run's file is
what TensorBoard reads as a file still being written, and skips. Nothing in nnzoo reads the
events back.

A run of members (config.vmap, train/members.py) hands over a list per metric, one value per
member: it becomes one row per member, with a `member` field (0, 1, ...), and member i's events go
to `tensorboard/member<i>/`, so TensorBoard draws the members as runs of one chart.
"""

import json
import logging
import math
import os
import sys
import time

import jax
import numpy as np
from etils import epath

from train import atomic

log = logging.getLogger('nnzoo')


class MetricWriter:

  def __init__(self, workdir, total_steps: int, start_step: int, show_progress: bool = True):
    self.enabled = jax.process_index() == 0
    self.path = epath.Path(workdir) / 'metrics.jsonl'
    self._tb = self._bar = None
    self._member_tb = {}
    if not self.enabled:
      return
    self._tb_dir, self._first_step = epath.Path(workdir) / 'tensorboard', start_step + 1
    self._tb = _Events(self._tb_dir, first_step=self._first_step)
    if not show_progress:
      return
    from tqdm import tqdm
    tty = sys.stderr.isatty()   # in a log file, a line every 30 s rather than a redraw a second
    self._bar = tqdm(total=total_steps, initial=start_step, unit='step', dynamic_ncols=tty,
                     file=sys.stderr, mininterval=1.0 if tty else 30.0, smoothing=0.1,
                     ascii=not tty)

  def write(self, step: int, split: str, values: dict) -> None:
    if not self.enabled:
      return
    members = max((len(v) for v in values.values() if isinstance(v, (list, tuple))), default=0)
    lines = []
    for i in range(max(members, 1)):
      row = {'step': int(step), 'split': split, 'time': round(time.time(), 3)}
      if members:
        row['member'] = i
      row.update({k: _plain(v[i] if isinstance(v, (list, tuple)) else v)
                  for k, v in values.items()})
      # Events first: a row in metrics.jsonl (what a resumed run goes by) has its events on disk.
      self._events(i if members else None).scalars(step, {
          f'{split}/{k}': v for k, v in row.items() if k not in ('step', 'split', 'time', 'member')
          and isinstance(v, (int, float)) and math.isfinite(v)})
      lines.append(json.dumps(row) + '\n')
    with self.path.open('a') as f:
      f.write(''.join(lines))

  def _events(self, member):
    if member is None:
      return self._tb
    if member not in self._member_tb:
      self._member_tb[member] = _Events(self._tb_dir / f'member{member}', self._first_step)
    return self._member_tb[member]

  def progress(self, step: int, postfix: dict) -> None:
    if self._bar is not None:
      self._bar.n = step
      self._bar.set_postfix({k: show(v, '.4g') for k, v in postfix.items()}, refresh=False)
      self._bar.refresh()

  def end_progress(self) -> None:
    """The bar's last line, drawn when the steps end: its rate is the steps' own, not lowered by
    the final evaluation and pictures that follow."""
    if self._bar is not None:
      self._bar.close()

  def message(self, text: str) -> None:
    if self.enabled:
      (self._bar.write if self._bar is not None else print)(text)

  def close(self):
    if self._bar is not None:
      self._bar.close()
    if self._tb is not None:
      self._tb.close()
    for events in self._member_tb.values():
      events.close()


class _Events:
  """A TensorBoard events file of this run, written synchronously (tensorboardX's record writer,
  without SummaryWriter's queue thread): what `scalars` wrote is on disk when it returns."""

  def __init__(self, directory, first_step: int):
    from tensorboardX.event_file_writer import EventsWriter
    from tensorboardX.proto.event_pb2 import Event, SessionLog
    from tensorboardX.record_writer import directory_check
    directory_check(str(directory))
    # The name has whole seconds: the nanoseconds after them keep apart (and in order) two runs
    # that start in the same second, the pid two processes.
    self._writer = EventsWriter(str(directory / 'events'),
                                f'.{time.time_ns() % 10 ** 9:09d}.{os.getpid()}')
    self._event = Event
    # TensorBoard drops the events of earlier files at or past this step: the killed run's steps
    # after its last checkpoint, which this run logs again.
    self._writer.write_event(Event(wall_time=time.time(), step=first_step,
                                   session_log=SessionLog(status=SessionLog.START)))
    self._writer.flush()

  def scalars(self, step: int, values: dict) -> None:
    from tensorboardX.summary import scalar
    for tag, v in values.items():
      self._writer.write_event(self._event(wall_time=time.time(), step=int(step),
                                           summary=scalar(tag, float(v))))
    self._writer.flush()

  def close(self):
    self._writer.close()


def mean_of(rows: list[dict]) -> dict:
  """The mean of each metric over the steps' rows: a float, or a list of one per member when the
  metrics have a leading member axis."""
  out = {}
  for k in rows[0]:
    mean = np.mean(np.asarray([r[k] for r in rows]), axis=0)
    out[k] = mean.tolist() if np.ndim(mean) else float(mean)
  return out


def show(v, fmt: str = '.4f') -> str:
  """A metric as the progress line shows it; members' values joined by '/'."""
  if isinstance(v, (list, tuple)):
    return '/'.join(format(x, fmt) for x in v)
  return format(v, fmt)


def _plain(v):
  if hasattr(v, 'item'):
    v = v.item()
  if isinstance(v, float) and not math.isfinite(v):
    return str(v)  # JSON has no NaN/Inf
  return v


def read(workdir) -> list[dict]:
  """The rows of metrics.jsonl; a line that is not whole JSON (a writer killed mid-line, or one
  still writing it) is left out."""
  return [row for _, _, row in _parse(workdir) if row is not None]


def truncate_after(workdir, step: int) -> None:
  """Drops rows past `step`: a run resumed from that step's checkpoint (or started afresh, step 0)
  writes them again. A torn line (the previous run was killed while appending it) is dropped with a
  warning; the file is rewritten whole, so it ends with the last complete line."""
  path = epath.Path(workdir) / 'metrics.jsonl'
  if not path.exists():
    return
  keep = []
  for number, line, row in _parse(workdir):
    if row is None:
      log.warning('metrics.jsonl line %d is not whole JSON (a run killed while writing it?): '
                  'dropped: %.60r', number, line)
    elif row['step'] <= step:
      keep.append(line + '\n')
  atomic.write(path, ''.join(keep))


def _parse(workdir):
  """(line number, text, row or None if the line is not one JSON row) for each non-blank line."""
  path = epath.Path(workdir) / 'metrics.jsonl'
  lines = path.read_text().splitlines() if path.exists() else []
  for number, line in enumerate(lines, 1):
    if line.strip():
      yield number, line, _row(line)


def _row(line: str) -> dict | None:
  try:
    row = json.loads(line)
  except json.JSONDecodeError:
    return None
  return row if isinstance(row, dict) and 'step' in row else None
