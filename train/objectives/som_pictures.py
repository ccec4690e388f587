"""The self-organizing map's pictures: U-matrix, component planes and hit map."""

import numpy as np

from train import plots
from train.objectives.som import majority_labels


def maps(prototypes, grid, bmu, labels, mask, path_u, path_planes, path_hits,
         feature_names=None, class_names=(), image_shape=None):
  """U-matrix (mean distance of each unit to its grid neighbours), one component plane per input
  dimension (at most 16) or, for image inputs (`image_shape` (H, W)), the prototypes drawn as
  images where their units sit, and the hit map: how many eval examples each unit wins. Where the
  batch
  has labels, each unit's majority label (of the eval examples it wins) is written on the hit map
  and, coloured by class, on the U-matrix, whose legend names the classes (`class_names`)."""
  rows, cols = grid
  keep = np.asarray(mask) > 0
  bmu = np.asarray(bmu)[keep]
  major = None
  if labels is not None:
    major = majority_labels(bmu, np.asarray(labels)[keep], rows * cols)
  w = np.asarray(prototypes).reshape(rows, cols, -1)
  u = np.zeros((rows, cols))
  for i in range(rows):
    for j in range(cols):
      d = [np.linalg.norm(w[i, j] - w[a, b]) for a, b in ((i - 1, j), (i + 1, j), (i, j - 1),
                                                          (i, j + 1))
           if 0 <= a < rows and 0 <= b < cols]
      u[i, j] = np.mean(d)
  if major is None:
    fig, ax = plots.plt.subplots(figsize=(5, 4.5))
  else:   # a second, empty panel holds the legend of the classes
    fig, (ax, key) = plots.plt.subplots(1, 2, figsize=(7.5, 4.5),
                                        gridspec_kw={'width_ratios': (4, 1)})
    key.axis('off')
  im = ax.imshow(u, cmap='bone_r')
  fig.colorbar(im, ax=ax, label='mean distance to grid neighbours')
  ax.set_title('U-matrix')
  if major is not None:
    colours = plots.plt.get_cmap('tab10')
    for unit in np.flatnonzero(major >= 0):
      ax.text(unit % cols, unit // cols, str(major[unit]), ha='center', va='center',
              fontsize=max(4, min(8, 160 // max(rows, cols))), fontweight='bold',
              color=colours(major[unit] % 10))
    shown = sorted(set(major[major >= 0].tolist()))
    handles = [plots.plt.Line2D([], [], ls='', marker='s', color=colours(k % 10),
                                label=f'{k} {class_names[k]}' if k < len(class_names) else str(k))
               for k in shown]
    key.legend(handles=handles, fontsize=7, loc='center left', title='majority class',
               title_fontsize=7)
    ax.set_title('U-matrix, units labelled by majority class')
  out = [plots.save(fig, path_u)]

  if image_shape is not None:
    out.append(prototype_images(w, image_shape, path_planes))
  else:
    out.append(component_planes(w, feature_names, path_planes))

  hits = np.bincount(bmu, minlength=rows * cols).reshape(rows, cols)
  fig, ax = plots.plt.subplots(figsize=(5, 4.5))
  im = ax.imshow(hits, cmap='Greens')
  fig.colorbar(im, ax=ax, label='hits')
  if major is not None:
    for unit in np.flatnonzero(major >= 0):
      ax.text(unit % cols, unit // cols, str(major[unit]), ha='center', va='center', fontsize=7)
  ax.set_title('hit map (majority label)')
  out.append(plots.save(fig, path_hits))
  return out


def component_planes(w, feature_names, path):
  """One plane of the [rows, cols, D] prototypes per input dimension (at most 16)."""
  dims = min(w.shape[-1], 16)
  c = min(4, dims)
  r = -(-dims // c)
  fig, axes = plots.plt.subplots(r, c, figsize=(c * 2.4, r * 2.2), squeeze=False)
  for ax in axes.flat:
    ax.axis('off')
  for k, ax in zip(range(dims), axes.flat):
    ax.imshow(w[..., k], cmap='viridis')
    ax.set_title(feature_names[k] if feature_names else f'input {k}', fontsize=8)
  return plots.save(fig, path)


def prototype_images(w, image_shape, path):
  """The [rows, cols, H * W] prototypes as one mosaic of H x W images, unit (i, j) at row i,
  column j, each scaled to the range of all prototypes."""
  rows, cols = w.shape[:2]
  h, wd = image_shape
  lo, hi = float(w.min()), float(w.max())
  tiles = (w.reshape(rows, cols, h, wd) - lo) / max(hi - lo, 1e-12)
  mosaic = np.full((rows * (h + 1) - 1, cols * (wd + 1) - 1), 0.5)
  for i in range(rows):
    for j in range(cols):
      mosaic[i * (h + 1):i * (h + 1) + h, j * (wd + 1):j * (wd + 1) + wd] = tiles[i, j]
  size = min(12.0, 0.3 * max(rows, cols) + 1)
  fig, ax = plots.plt.subplots(figsize=(size, size * rows / cols))
  ax.imshow(mosaic, cmap='gray', vmin=0, vmax=1)
  ax.axis('off')
  ax.set_title('prototypes')
  return plots.save(fig, path)
