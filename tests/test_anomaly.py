"""The one-class anomaly measures (experiments/autoencoder/measures.py): AUROC and PCA's error."""

import numpy as np

from experiments.autoencoder import measures


def test_auroc_is_the_chance_a_positive_outscores_a_negative_ties_counting_half():
  positive = np.array([False, False, True, True])
  assert measures.auroc(np.array([0.1, 0.2, 0.3, 0.4]), positive) == 1.0
  assert measures.auroc(np.array([0.4, 0.3, 0.2, 0.1]), positive) == 0.0
  assert measures.auroc(np.ones(4), positive) == 0.5
  # One of the four (positive, negative) pairs is ordered wrongly: 3/4.
  assert measures.auroc(np.array([0.1, 0.35, 0.3, 0.4]), positive) == 0.75
  # Against the definition, counted pair by pair on random scores with ties.
  rng = np.random.default_rng(0)
  scores, positive = rng.integers(0, 5, 200).astype(float), rng.random(200) < 0.3
  pairs = [(1.0 if p > n else 0.5 if p == n else 0.0)
           for p in scores[positive] for n in scores[~positive]]
  np.testing.assert_allclose(measures.auroc(scores, positive), np.mean(pairs), rtol=1e-12)


def test_pca_error_vanishes_in_the_fitted_subspace_and_counts_what_is_off_it():
  rng = np.random.default_rng(0)
  basis = np.linalg.qr(rng.normal(size=(10, 3)))[0]          # a 3-d subspace of R^10
  train = rng.normal(size=(500, 3)) @ basis.T + 2.0
  inside = rng.normal(size=(5, 3)) @ basis.T + 2.0
  off = rng.normal(size=(10,))
  off -= basis @ (basis.T @ off)                              # orthogonal to the subspace
  np.testing.assert_allclose(measures.pca_errors(train, inside, 3), 0, atol=1e-9)
  np.testing.assert_allclose(measures.pca_errors(train, inside + off, 3), np.sum(off ** 2),
                             rtol=1e-9)
  assert np.all(measures.pca_errors(train, inside, 2) > 1e-3)   # one direction too few
