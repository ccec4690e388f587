"""PNG pictures written into `workdir/plots/` (matplotlib, no display needed).

Where pictures live, one rule: a picture more than one family draws (learning curves, predictions,
confusion, heatmaps, attributions) and the shared drawing pieces (`save`, `fits_images`,
`show_image`) are here; a family's own pictures are beside its objective, as
train/objectives/<objective>_pictures.py (capsule, reconstruction, gan, som, rbf), called from the
objective's `plots`.

A picture never fails a run: one that does not fit the data (an image grid of inputs that are not
images) is skipped with one warning line (`skip`), and the loop guards every call (train/loop.py).
Each picture is written whole or not at all (train/atomic.py).
"""

import io
import logging

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as ticker  # noqa: E402
import numpy as np  # noqa: E402
from etils import epath  # noqa: E402

from train import atomic  # noqa: E402

log = logging.getLogger('nnzoo')
_warned = set()   # (picture, reason) already warned about: a run evaluates many times
GRID_IMAGES = 32  # examples in a grid of predictions (objectives compute outputs for these only)


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


def show_image(ax, img):
  """One image, grey or colour, in [0, 1], on `ax` without axes."""
  img = np.asarray(img)
  ax.imshow(img.squeeze(), cmap='gray' if img.ndim == 2 or img.shape[-1] == 1 else None,
            vmin=0, vmax=1)
  ax.axis('off')


def mosaic(images, cols: int, gap: int = 1, top: int = 0, fill: float = 1.0) -> np.ndarray:
  """Images [B, H, W(, C)] tiled into one [rows, cols] picture, `gap` pixels of `fill` between
  them and `top` more above each row (room for a title): one imshow instead of an axes per image,
  which makes a grid of 32-64 images ~10x faster to draw."""
  images = np.asarray(images, np.float32)
  if images.ndim == 3:
    images = images[..., None]
  b, h, w, c = images.shape
  rows = -(-b // cols)
  cell_h, cell_w = h + gap + top, w + gap
  out = np.full((rows * cell_h + gap, cols * cell_w + gap, c), fill, np.float32)
  for i, img in enumerate(images):
    r, k = divmod(i, cols)
    y, x = r * cell_h + gap + top, k * cell_w + gap
    out[y:y + h, x:x + w] = img
  return out[..., 0] if c == 1 else out


def _show_mosaic(picture, figsize):
  fig, ax = plt.subplots(figsize=figsize)
  ax.imshow(picture, cmap='gray' if picture.ndim == 2 else None, vmin=0, vmax=1,
            interpolation='nearest')
  ax.axis('off')
  return fig, ax


def image_grid(images, path, cols: int = 8):
  """Images in [0, 1] in rows of `cols` (samples of a generative model)."""
  if not fits_images(images, path):
    return None
  images = np.clip(np.asarray(images), 0, 1)
  rows = -(-len(images) // cols)
  fig, _ = _show_mosaic(mosaic(images, cols), (cols * 0.9, rows * 0.9))
  return save(fig, path)


def learning_curves(rows: list[dict], path):
  """One panel per metric, train and eval lines over steps (a line each per member in a run of
  members, whose rows carry a `member` field)."""
  names = sorted({k for r in rows for k, v in r.items()
                  if isinstance(v, (int, float)) and k not in ('step', 'time', 'count', 'member')
                  and not k.endswith('_per_s') and k != 'eval_s'})   # timings
  names = [n for n in names if n != 'lr'] + (['lr'] if 'lr' in names else [])
  if not names:
    return None
  cols = min(3, len(names))
  rows_n = -(-len(names) // cols)
  fig, axes = plt.subplots(rows_n, cols, figsize=(4.2 * cols, 3 * rows_n), squeeze=False)
  for ax, name in zip(axes.flat, names):
    members = sorted({r.get('member', -1) for r in rows})
    for split, style in (('train', '-'), ('eval', 'o-')):
      for member in members:
        pts = [(r['step'], r[name]) for r in rows if r.get('split') == split
               and r.get('member', -1) == member and isinstance(r.get(name), (int, float))]
        if pts:
          x, y = zip(*pts)
          ax.plot(x, y, style, label=split if member < 0 else f'{split} {member}', markersize=3)
    ax.set_title(name)
    ax.set_xlabel('step')
    if name == 'loss' and all(r.get('loss', 1) > 0 for r in rows if 'loss' in r):
      log_y(ax)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
  for ax in list(axes.flat)[len(names):]:
    ax.axis('off')
  return save(fig, path)


class _PlainLogFormatter(ticker.LogFormatter):
  """A log axis's tick labels as plain numbers (0.5, 1, 2e-05), with matplotlib's own rule for
  which ticks get one. Its default writes them as TeX (5x10^-1), whose first parse in a process
  took ~0.1 s of a run's last pictures."""

  def _num_to_string(self, x, vmin, vmax):
    return f'{x:g}'


def log_y(ax) -> None:
  """`ax`'s y axis on a log scale, labelled in plain numbers."""
  ax.set_yscale('log')
  ax.yaxis.set_major_formatter(_PlainLogFormatter())
  ax.yaxis.set_minor_formatter(_PlainLogFormatter(labelOnlyBase=False))


def prediction_grid(images, labels, predictions, path, max_images: int = GRID_IMAGES):
  """Eval images with 'pred/true' titles; wrong predictions in red. Each image is scaled to its
  own range, as imshow would scale it alone."""
  if not fits_images(images, path):
    return None
  images, labels, predictions = (np.asarray(a)[:max_images] for a in (images, labels, predictions))
  images = images.astype(np.float32)
  axes = tuple(range(1, images.ndim))
  low, high = images.min(axis=axes, keepdims=True), images.max(axis=axes, keepdims=True)
  images = (images - low) / np.where(high > low, high - low, 1.0)
  n, h, w = len(images), images.shape[1], images.shape[2]
  cols = 8
  rows = -(-n // cols)
  gap, top = max(1, w // 14), max(4, h // 3)   # room above each image for its title
  fig, ax = _show_mosaic(mosaic(images, cols, gap, top), (cols * 1.1, rows * 1.25))
  for i, (y, p) in enumerate(zip(labels, predictions)):
    r, k = divmod(i, cols)
    ax.text(k * (w + gap) + gap + w / 2, r * (h + gap + top) + gap + top - 1, f'{p}/{y}',
            ha='center', va='bottom', fontsize=8, color='black' if p == y else 'red')
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


def attribution_grid(images, maps, labels, predicted, names, signed: bool, title: str, path,
                     cols: int = 8):
  """Per example, three stacked panels: the input, its attribution map and the map over the input;
  titled 'true / pred' with the class names (red when wrong). A signed map (integrated gradients)
  is blue-white-red around 0, a magnitude map (gradients) black to yellow; each example has its
  own scale, since attributions are compared within an image, not between images."""
  if not fits_images(images, path):
    return None
  images, maps = np.asarray(images), np.asarray(maps)
  n = len(images)
  cols = min(cols, n)
  rows = -(-n // cols)
  fig, axes = plt.subplots(3 * rows, cols, figsize=(cols * 1.15, rows * 3.6), squeeze=False)
  for ax in axes.flat:
    ax.axis('off')
  grey = images.ndim == 3 or images.shape[-1] == 1
  name = lambda k: names[k] if 0 <= k < len(names) and names[k] else str(k)  # noqa: E731
  for i in range(n):
    r, c = 3 * (i // cols), i % cols
    image = np.clip(images[i].squeeze(), 0, 1)
    top = float(np.abs(maps[i]).max()) or 1.0
    scale = dict(cmap='bwr', vmin=-top, vmax=top) if signed else dict(cmap='inferno', vmin=0,
                                                                      vmax=top)
    axes[r, c].imshow(image, cmap='gray' if grey else None, vmin=0, vmax=1)
    axes[r, c].set_title(f'{name(int(labels[i]))} / {name(int(predicted[i]))}', fontsize=7,
                         color='black' if labels[i] == predicted[i] else 'red')
    axes[r + 1, c].imshow(maps[i], **scale)
    axes[r + 2, c].imshow(image, cmap='gray' if grey else None, vmin=0, vmax=1)
    # Opaque where the attribution is large, clear where it is ~0: the digit shows through.
    axes[r + 2, c].imshow(maps[i], alpha=np.clip(np.abs(maps[i]) / top, 0, 1), **scale)
  for r in range(rows):
    for k, what in enumerate(('input', 'attribution', 'overlay')):
      axes[3 * r + k, 0].axis('on')
      axes[3 * r + k, 0].set_xticks([])
      axes[3 * r + k, 0].set_yticks([])
      axes[3 * r + k, 0].set_ylabel(what, fontsize=7)
  fig.suptitle(f'{title}\ntrue / predicted class', fontsize=8)
  return save(fig, path)
