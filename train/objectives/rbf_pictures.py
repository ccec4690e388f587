"""The RBF network's picture: the eval series against its prediction, one panel per target."""

import numpy as np

from train import plots


def prediction_vs_truth(truth, prediction, names, path):
  """One panel per target: the eval series and the model's prediction, in eval order."""
  truth, prediction = np.asarray(truth), np.asarray(prediction)
  k = truth.shape[1]
  fig, axes = plots.plt.subplots(k, 1, figsize=(9, 2.4 * k), squeeze=False)
  for i, ax in enumerate(axes[:, 0]):
    ax.plot(truth[:, i], lw=1, label='truth')
    ax.plot(prediction[:, i], lw=1, ls='--', label='prediction')
    ax.set_title(names[i] if names else f'target {i}', fontsize=9)
    ax.legend(fontsize=8)
  axes[-1, 0].set_xlabel('eval example (in time order when the data has a time feature t)')
  return plots.save(fig, path)
