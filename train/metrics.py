"""Where numbers go: `metrics.jsonl` (one JSON object per line), TensorBoard events, and a progress
bar. Only process 0 writes; the others get a writer that does nothing."""

import json
import logging
import math
import sys
import time

import jax
from etils import epath

from train import atomic

log = logging.getLogger('nnzoo')


class MetricWriter:

  def __init__(self, workdir, total_steps: int, start_step: int, show_progress: bool = True):
    self.enabled = jax.process_index() == 0
    self.path = epath.Path(workdir) / 'metrics.jsonl'
    self._tb = self._bar = None
    if not self.enabled:
      return
    from tensorboardX import SummaryWriter
    self._tb = SummaryWriter(str(epath.Path(workdir) / 'tensorboard'), flush_secs=30)
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
    row = {'step': int(step), 'split': split, 'time': round(time.time(), 3)}
    row.update({k: _plain(v) for k, v in values.items()})
    with self.path.open('a') as f:
      f.write(json.dumps(row) + '\n')
    for k, v in values.items():
      if isinstance(v, (int, float)) and math.isfinite(v):
        self._tb.add_scalar(f'{split}/{k}', v, step)

  def progress(self, step: int, postfix: dict) -> None:
    if self._bar is not None:
      self._bar.n = step
      self._bar.set_postfix({k: f'{v:.4g}' for k, v in postfix.items()}, refresh=False)
      self._bar.refresh()

  def message(self, text: str) -> None:
    if self.enabled:
      (self._bar.write if self._bar is not None else print)(text)

  def close(self):
    if self._bar is not None:
      self._bar.close()
    if self._tb is not None:
      self._tb.close()


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
