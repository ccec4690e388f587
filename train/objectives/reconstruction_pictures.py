"""The autoencoders' pictures (the `reconstruction` objective): inputs, corrupted inputs and
reconstructions, the codes of an eval batch in 2-D, and a VAE's samples and walk through its code
space."""

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


def sample_grid(images, path):
  """A VAE's decoded draws from the prior N(0, I)."""
  return plots.image_grid(images, path)


def walk_codes(means, n: int):
  """((i, j), codes [n * n, D]): a walk through the plane of the two code dimensions whose
  posterior means vary most over `means` [B, D] (the ones the model uses), the others held at 0;
  each of the two runs over the inverse Gaussian CDF of n evenly spaced quantiles in (0, 1), so
  the grid covers the prior as Kingma & Welling's Figure 4 does. Row r, column c of the picture
  is codes[r * n + c]: dimension i down the rows, j along the columns."""
  from scipy import special
  means = np.asarray(means, np.float64)
  if means.shape[1] < 2:
    raise ValueError(f'a 2-D walk needs a code of 2 or more dimensions, got {means.shape[1]}')
  i, j = (int(d) for d in np.argsort(-means.var(0), kind='stable')[:2])
  values = special.ndtri((np.arange(n) + 0.5) / n)
  codes = np.zeros((n, n, means.shape[1]), np.float32)
  codes[:, :, i] = values[:, None]
  codes[:, :, j] = values[None, :]
  return (i, j), codes.reshape(n * n, -1)


def latent_walk(images, n: int, plane, path):
  """The decoded walk of walk_codes: an n x n grid, its axes naming the two code dimensions."""
  if not plots.fits_images(images, path):
    return None
  images = np.clip(np.asarray(images), 0, 1)
  fig, axes = plots.plt.subplots(n, n, figsize=(n * 0.75, n * 0.75), squeeze=False)
  for ax, img in zip(axes.flat, images):
    plots.show_image(ax, img)
  fig.supylabel(f'z[{plane[0]}], rising downwards (other dimensions 0)', fontsize=8)
  fig.supxlabel(f'z[{plane[1]}], rising to the right', fontsize=8)
  return plots.save(fig, path)
