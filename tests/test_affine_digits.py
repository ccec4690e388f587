"""The affine-robustness digits: deterministic splits, translated vs affinely transformed tests."""

import numpy as np

from train.datasets import affine_digits


def test_splits_are_deterministic_and_the_affine_test_differs_from_the_translated_one():
  test, affine = affine_digits.make_split('test'), affine_digits.make_split('test_affine')
  assert len(test) == len(affine) == 360
  assert len(affine_digits.make_split('train')) == 2 * 1437
  again = affine_digits.make_split('test_affine')
  assert all(np.array_equal(a[0], b[0]) for a, b in zip(affine, again))
  assert [l for _, l in test] == [l for _, l in affine]            # same digits, same order
  assert test[0][0].shape == (16, 16) and test[0][0].dtype == np.uint8
  diff = np.mean([np.abs(a[0].astype(float) - b[0].astype(float)).mean()
                  for a, b in zip(test, affine)])
  assert diff > 5.0   # on the 0..255 scale: the affine maps move ink
  # Ink is kept on the canvas (nothing is cut off by shifts or scaling in most images).
  ink_ratio = np.median([a[0].sum() / max(t[0].sum(), 1) for t, a in zip(test, affine)])
  assert 0.8 < ink_ratio < 1.25


def test_random_affine_with_identity_parameters_is_a_shift():
  canvas = affine_digits.place(np.ones((12, 12)), 0, 0)

  class Fixed:  # rotation 0, shear 0, scale 1
    def uniform(self, low, high, size=None):
      return np.ones(size) if size else 0.0
  out = affine_digits.random_affine(canvas, Fixed(), (1, -2))
  np.testing.assert_allclose(out, np.roll(canvas, (1, -2), axis=(0, 1)), atol=1e-6)
