"""The autoencoders' pictures (the `reconstruction` objective): inputs, corrupted inputs and
reconstructions, and the codes of an eval batch in 2-D."""

import numpy as np

from train import plots


def reconstruction_grid(clean, seen, reconstructed, path, n: int = 12):
  """Rows: the clean input, what the model was given (if corrupted), the reconstruction."""
  if not plots.fits_images(clean, path):
    return None
  clean, seen, reconstructed = (np.asarray(a)[:n] for a in (clean, seen, reconstructed))
  rows = [('input', clean)]
  if not np.array_equal(clean, seen):
    rows.append(('corrupted', seen))
  rows.append(('reconstruction', reconstructed))
  fig, axes = plots.plt.subplots(len(rows), len(clean), figsize=(len(clean) * 0.9, len(rows) * 1.0),
                           squeeze=False)
  for r, (title, images) in enumerate(rows):
    for c, img in enumerate(images):
      plots.show_image(axes[r, c], np.clip(img, 0, 1))
    axes[r, 0].set_title(title, fontsize=8, loc='left')
  return plots.save(fig, path)


def _two_d(codes):
  """The codes themselves if 2-D, else their first two principal components."""
  if codes.shape[1] <= 2:
    return codes if codes.shape[1] == 2 else np.concatenate([codes, 0 * codes], 1)
  centred = codes - codes.mean(0)
  _, _, vt = np.linalg.svd(centred, full_matrices=False)
  return centred @ vt[:2].T


def code_scatter(codes, labels, mask, path):
  """The codes of one eval batch in 2-D (PCA above 2 dims), coloured by label when there is one."""
  keep = np.asarray(mask) > 0
  dims = np.asarray(codes).shape[1]
  codes = _two_d(np.asarray(codes, np.float64)[keep])
  fig, ax = plots.plt.subplots(figsize=(5, 4.5))
  if labels is not None:
    sc = ax.scatter(codes[:, 0], codes[:, 1], c=np.asarray(labels)[keep], cmap='tab10', s=8)
    fig.colorbar(sc, ax=ax, label='label')
  else:
    ax.scatter(codes[:, 0], codes[:, 1], s=8)
  ax.set_title(f'{dims}-d codes of the eval batch' + (' (first 2 PCs)' if dims > 2 else ''))
  return plots.save(fig, path)
