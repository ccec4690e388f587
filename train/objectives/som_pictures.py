"""The self-organizing map's pictures: U-matrix, component planes and hit map."""

import numpy as np

from train import plots


def maps(prototypes, grid, bmu, labels, mask, path_u, path_planes, path_hits,
         feature_names=None):
  """U-matrix (mean distance of each unit to its grid neighbours), one component plane per input
  dimension (at most 16), and the hit map: how many eval examples each unit wins, with the
  majority label written on it."""
  rows, cols = grid
  w = np.asarray(prototypes).reshape(rows, cols, -1)
  u = np.zeros((rows, cols))
  for i in range(rows):
    for j in range(cols):
      d = [np.linalg.norm(w[i, j] - w[a, b]) for a, b in ((i - 1, j), (i + 1, j), (i, j - 1),
                                                          (i, j + 1))
           if 0 <= a < rows and 0 <= b < cols]
      u[i, j] = np.mean(d)
  fig, ax = plots.plt.subplots(figsize=(5, 4.5))
  im = ax.imshow(u, cmap='bone_r')
  fig.colorbar(im, ax=ax)
  ax.set_title('U-matrix')
  out = [plots.save(fig, path_u)]

  dims = min(w.shape[-1], 16)
  c = min(4, dims)
  r = -(-dims // c)
  fig, axes = plots.plt.subplots(r, c, figsize=(c * 2.4, r * 2.2), squeeze=False)
  for ax in axes.flat:
    ax.axis('off')
  for k, ax in zip(range(dims), axes.flat):
    ax.imshow(w[..., k], cmap='viridis')
    ax.set_title(feature_names[k] if feature_names else f'input {k}', fontsize=8)
  out.append(plots.save(fig, path_planes))

  keep = np.asarray(mask) > 0
  bmu = np.asarray(bmu)[keep]
  hits = np.bincount(bmu, minlength=rows * cols).reshape(rows, cols)
  fig, ax = plots.plt.subplots(figsize=(5, 4.5))
  im = ax.imshow(hits, cmap='Greens')
  fig.colorbar(im, ax=ax, label='hits')
  if labels is not None:
    labels = np.asarray(labels)[keep]
    for unit in np.unique(bmu):
      major = np.bincount(labels[bmu == unit]).argmax()
      ax.text(unit % cols, unit // cols, str(major), ha='center', va='center', fontsize=7)
  ax.set_title('hit map (majority label)')
  out.append(plots.save(fig, path_hits))
  return out
