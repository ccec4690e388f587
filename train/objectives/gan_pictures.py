"""The GANs' pictures: a grid of generated images, or 2-D samples over the real points and the
mixture's modes."""

import numpy as np

from train import plots


def sample_grid(images, path, cols: int = 8):
  """A fixed-noise grid of generated images ([0, 1], or [-1, 1] from a tanh generator)."""
  images = np.asarray(images)
  if images.min() < 0:
    images = (images + 1) / 2
  return plots.image_grid(images, path, cols)


def samples_over_density(real, fake, centres, path):
  """2-D generated points over the real ones and the mixture's modes."""
  real, fake = np.asarray(real), np.asarray(fake)
  fig, ax = plots.plt.subplots(figsize=(5, 5))
  ax.scatter(real[:, 0], real[:, 1], s=4, alpha=0.3, c='tab:blue', label='data')
  ax.scatter(fake[:, 0], fake[:, 1], s=4, alpha=0.5, c='tab:red', label='generated')
  if centres is not None:
    c = np.asarray(centres)
    ax.scatter(c[:, 0], c[:, 1], marker='x', c='k', s=40, label='modes')
  ax.set_aspect('equal')
  ax.legend(fontsize=8, loc='upper right')
  return plots.save(fig, path)
