"""Baselines the autoencoder claims compare against, computed on the same splits as the runs."""

import numpy as np

from train import data


def split_arrays(config, split: str, key: str = 'image') -> np.ndarray:
  """One split of the config's data set as a float array [N, D], scaled like the pipeline."""
  source = data.ArraySource(data.open_source(config.data, split))
  x = data.scale_images({key: source.arrays[key]})[key]
  return x.reshape(len(x), -1).astype(np.float64)


def pca_test_mse(config, code: int) -> float:
  """Test MSE (mean over elements, then examples) of PCA with `code` components fit on train."""
  train = split_arrays(config, config.data.train_split)
  test = split_arrays(config, config.data.eval_split)
  mean = train.mean(0)
  _, _, vt = np.linalg.svd(train - mean, full_matrices=False)
  basis = vt[:code]
  recon = (test - mean) @ basis.T @ basis + mean
  return float(np.mean(np.square(recon - test)))
