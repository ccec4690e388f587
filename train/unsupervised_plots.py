"""PNG pictures of the unsupervised and generative families: reconstructions and codes
(autoencoders), samples (GANs), U-matrix / component planes / hit map (SOMs), predictions over
time (RBF networks). Host-side numpy + matplotlib, called from the objectives' `plots`."""

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from train.plots import fits_images  # noqa: E402
from train.plots import save as _save  # noqa: E402


def _show(ax, img):
  img = np.asarray(img)
  ax.imshow(img.squeeze(), cmap='gray' if img.ndim == 2 or img.shape[-1] == 1 else None,
            vmin=0, vmax=1)
  ax.axis('off')


def reconstruction_grid(clean, seen, reconstructed, path, n: int = 12):
  """Rows: the clean input, what the model was given (if corrupted), the reconstruction."""
  if not fits_images(clean, path):
    return None
  clean, seen, reconstructed = (np.asarray(a)[:n] for a in (clean, seen, reconstructed))
  rows = [('input', clean)]
  if not np.array_equal(clean, seen):
    rows.append(('corrupted', seen))
  rows.append(('reconstruction', reconstructed))
  fig, axes = plt.subplots(len(rows), len(clean), figsize=(len(clean) * 0.9, len(rows) * 1.0),
                           squeeze=False)
  for r, (title, images) in enumerate(rows):
    for c, img in enumerate(images):
      _show(axes[r, c], np.clip(img, 0, 1))
    axes[r, 0].set_title(title, fontsize=8, loc='left')
  return _save(fig, path)


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
  fig, ax = plt.subplots(figsize=(5, 4.5))
  if labels is not None:
    sc = ax.scatter(codes[:, 0], codes[:, 1], c=np.asarray(labels)[keep], cmap='tab10', s=8)
    fig.colorbar(sc, ax=ax, label='label')
  else:
    ax.scatter(codes[:, 0], codes[:, 1], s=8)
  ax.set_title(f'{dims}-d codes of the eval batch' + (' (first 2 PCs)' if dims > 2 else ''))
  return _save(fig, path)


def sample_grid(images, path, cols: int = 8):
  """A fixed-noise grid of generated images ([0, 1], or [-1, 1] from a tanh generator)."""
  if not fits_images(images, path):   # a GAN of vectors that are neither images nor 2-D points
    return None
  images = np.asarray(images)
  if images.min() < 0:
    images = (images + 1) / 2
  images = np.clip(images, 0, 1)
  rows = -(-len(images) // cols)
  fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9, rows * 0.9), squeeze=False)
  for ax in axes.flat:
    ax.axis('off')
  for ax, img in zip(axes.flat, images):
    _show(ax, img)
  return _save(fig, path)


def samples_over_density(real, fake, centres, path):
  """2-D generated points over the real ones and the mixture's modes."""
  real, fake = np.asarray(real), np.asarray(fake)
  fig, ax = plt.subplots(figsize=(5, 5))
  ax.scatter(real[:, 0], real[:, 1], s=4, alpha=0.3, c='tab:blue', label='data')
  ax.scatter(fake[:, 0], fake[:, 1], s=4, alpha=0.5, c='tab:red', label='generated')
  if centres is not None:
    c = np.asarray(centres)
    ax.scatter(c[:, 0], c[:, 1], marker='x', c='k', s=40, label='modes')
  ax.set_aspect('equal')
  ax.legend(fontsize=8, loc='upper right')
  return _save(fig, path)


def som_pictures(prototypes, grid, bmu, labels, mask, path_u, path_planes, path_hits,
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
  fig, ax = plt.subplots(figsize=(5, 4.5))
  im = ax.imshow(u, cmap='bone_r')
  fig.colorbar(im, ax=ax)
  ax.set_title('U-matrix')
  out = [_save(fig, path_u)]

  dims = min(w.shape[-1], 16)
  c = min(4, dims)
  r = -(-dims // c)
  fig, axes = plt.subplots(r, c, figsize=(c * 2.4, r * 2.2), squeeze=False)
  for ax in axes.flat:
    ax.axis('off')
  for k, ax in zip(range(dims), axes.flat):
    ax.imshow(w[..., k], cmap='viridis')
    ax.set_title(feature_names[k] if feature_names else f'input {k}', fontsize=8)
  out.append(_save(fig, path_planes))

  keep = np.asarray(mask) > 0
  bmu = np.asarray(bmu)[keep]
  hits = np.bincount(bmu, minlength=rows * cols).reshape(rows, cols)
  fig, ax = plt.subplots(figsize=(5, 4.5))
  im = ax.imshow(hits, cmap='Greens')
  fig.colorbar(im, ax=ax, label='hits')
  if labels is not None:
    labels = np.asarray(labels)[keep]
    for unit in np.unique(bmu):
      major = np.bincount(labels[bmu == unit]).argmax()
      ax.text(unit % cols, unit // cols, str(major), ha='center', va='center', fontsize=7)
  ax.set_title('hit map (majority label)')
  out.append(_save(fig, path_hits))
  return out


def prediction_vs_truth(truth, prediction, names, path):
  """One panel per target: the eval series and the model's prediction, in eval order."""
  truth, prediction = np.asarray(truth), np.asarray(prediction)
  k = truth.shape[1]
  fig, axes = plt.subplots(k, 1, figsize=(9, 2.4 * k), squeeze=False)
  for i, ax in enumerate(axes[:, 0]):
    ax.plot(truth[:, i], lw=1, label='truth')
    ax.plot(prediction[:, i], lw=1, ls='--', label='prediction')
    ax.set_title(names[i] if names else f'target {i}', fontsize=9)
    ax.legend(fontsize=8)
  axes[-1, 0].set_xlabel('eval example (in time order when the data has a time feature t)')
  return _save(fig, path)
