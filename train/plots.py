"""PNG pictures written into `workdir/plots/` (matplotlib, no display needed).

A picture never fails a run: one that does not fit the data (an image grid of inputs that are not
images) is skipped with one warning line (`skip`), and the loop guards every call (train/loop.py).
Each picture is written whole or not at all (train/atomic.py).
"""

import io
import logging

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from etils import epath  # noqa: E402

from train import atomic  # noqa: E402

log = logging.getLogger('nnzoo')
_warned = set()   # (picture, reason) already warned about: a run evaluates many times


def skip(path, reason: str) -> None:
  """Says once per process that the picture `path` is not drawn, and why."""
  if (str(path), reason) not in _warned:
    _warned.add((str(path), reason))
    log.warning('plots: %s skipped: %s', epath.Path(path).name, reason)


def images_problem(images) -> str | None:
  """Why a batch cannot be drawn as images ([B, H, W] or [B, H, W, 1|3|4], H and W > 1), or None."""
  shape = tuple(np.shape(images)[1:])
  spatial = shape[:2] if len(shape) == 3 and shape[-1] in (1, 3, 4) else shape
  if len(spatial) != 2:
    return f'inputs of shape {shape} are not images'
  if min(spatial) < 2:
    return f'inputs of shape {shape} are 1-D signals, not images'
  return None


def fits_images(images, path) -> bool:
  """True if `images` can be drawn; else the picture `path` is skipped with a warning."""
  problem = images_problem(images)
  if problem:
    skip(path, problem)
  return problem is None


def save(fig, path, dpi: int = 90):
  """Lays out, renders and closes `fig`; the file appears whole (atomic rename) or not at all."""
  buffer = io.BytesIO()
  try:
    fig.tight_layout()
    fig.savefig(buffer, format=epath.Path(path).suffix.lstrip('.') or 'png', dpi=dpi)
  finally:
    plt.close(fig)
  atomic.write(path, buffer.getvalue())
  return path


def learning_curves(rows: list[dict], path):
  """One panel per metric, train and eval lines over steps."""
  names = sorted({k for r in rows for k, v in r.items()
                  if isinstance(v, (int, float)) and k not in ('step', 'time', 'count')
                  and not k.endswith('_per_s') and k != 'eval_s'})   # timings
  names = [n for n in names if n != 'lr'] + (['lr'] if 'lr' in names else [])
  if not names:
    return None
  cols = min(3, len(names))
  rows_n = -(-len(names) // cols)
  fig, axes = plt.subplots(rows_n, cols, figsize=(4.2 * cols, 3 * rows_n), squeeze=False)
  for ax, name in zip(axes.flat, names):
    for split, style in (('train', '-'), ('eval', 'o-')):
      pts = [(r['step'], r[name]) for r in rows if r.get('split') == split
             and isinstance(r.get(name), (int, float))]
      if pts:
        x, y = zip(*pts)
        ax.plot(x, y, style, label=split, markersize=3)
    ax.set_title(name)
    ax.set_xlabel('step')
    if name == 'loss' and all(r.get('loss', 1) > 0 for r in rows if 'loss' in r):
      ax.set_yscale('log')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
  for ax in list(axes.flat)[len(names):]:
    ax.axis('off')
  return save(fig, path)


def prediction_grid(images, labels, predictions, path, max_images: int = 32):
  """Eval images with 'pred/true' titles; wrong predictions in red."""
  if not fits_images(images, path):
    return None
  images, labels, predictions = (np.asarray(a)[:max_images] for a in (images, labels, predictions))
  n = len(images)
  cols = 8
  rows = -(-n // cols)
  fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, rows * 1.25), squeeze=False)
  for ax in axes.flat:
    ax.axis('off')
  for ax, img, y, p in zip(axes.flat, images, labels, predictions):
    ax.imshow(img.squeeze(), cmap='gray' if img.ndim == 2 or img.shape[-1] == 1 else None)
    ax.set_title(f'{p}/{y}', fontsize=8, color='black' if p == y else 'red')
  fig.suptitle('prediction/label', fontsize=9)
  return save(fig, path)


def heatmaps(panels, path):
  """One heatmap per (title, matrix, row labels, column labels), e.g. DARTS's softmax(alpha) per
  edge and op, each cell annotated with its value."""
  fig, axes = plt.subplots(1, len(panels), squeeze=False,
                           figsize=(sum(1.0 + 0.75 * len(p[3]) for p in panels),
                                    1.5 + 0.32 * max(len(p[2]) for p in panels)))
  for ax, (title, matrix, rows, cols) in zip(axes.flat, panels):
    matrix = np.asarray(matrix)
    ax.imshow(matrix, cmap='viridis', aspect='auto', vmin=0, vmax=max(float(matrix.max()), 1e-6))
    ax.set_xticks(range(len(cols)), cols, rotation=60, ha='right', fontsize=7)
    ax.set_yticks(range(len(rows)), rows, fontsize=7)
    for (i, j), v in np.ndenumerate(matrix):
      ax.text(j, i, f'{v:.2f}', ha='center', va='center', fontsize=5.5,
              color='white' if v < 0.6 * matrix.max() else 'black')
    ax.set_title(title, fontsize=9)
  return save(fig, path, dpi=100)


def confusion_matrix(matrix, names, path):
  """Rows: true class, columns: predicted; each cell the share of its row (colour and text), so a
  class's recall is on the diagonal. Class names label the axes when the data set has them."""
  matrix = np.asarray(matrix, np.float64)
  n = len(matrix)
  names = list(names) if len(names) == n else [str(i) for i in range(n)]
  rates = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
  size = min(2.5 + 0.5 * n, 14.0)   # 1000 ImageNet classes: a 14-inch heatmap, no labels
  fig, ax = plt.subplots(figsize=(size + 1, size))
  im = ax.imshow(rates, cmap='Blues', vmin=0, vmax=1)
  if n <= 50:
    ax.set_xticks(range(n), names, rotation=45, ha='right', fontsize=8)
    ax.set_yticks(range(n), names, fontsize=8)
  if n <= 30:
    for (i, j), v in np.ndenumerate(rates):
      if matrix[i, j]:
        ax.text(j, i, f'{v:.2f}', ha='center', va='center', fontsize=6.5,
                color='white' if v > 0.5 else 'black')
  accuracy = np.trace(matrix) / max(matrix.sum(), 1)
  ax.set_xlabel('predicted')
  ax.set_ylabel('true')
  ax.set_title(f'confusion over {int(matrix.sum())} eval examples (accuracy {accuracy:.4f})',
               fontsize=9)
  fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
  return save(fig, path)
