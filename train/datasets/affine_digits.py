"""Digits on a 16x16 canvas: translated for training, affinely transformed for a robustness test.

After Sabour, Frosst & Hinton 2017, Section 5.2 (train on translated MNIST, test on affNIST). Each
of scikit-learn's 8x8 digits is upsampled to 12x12 (bilinear) and placed on a 16x16 canvas. Splits
follow `digits.split_indices()` (1437 train / 360 test images):

  train        each training digit twice, shifted by a random integer offset in [-2, 2]^2
  test         each test digit once, shifted the same way (the training distribution)
  test_affine  each test digit once under a random affine map about the canvas centre: rotation
               U(-20, 20) degrees, shear U(-0.2, 0.2), scale U(0.8, 1.2) per axis, then a shift
               in [-2, 2]^2 (affNIST's ranges, scaled to the canvas)

Deterministic: numpy default_rng with a fixed seed per split.
"""

import numpy as np
import tensorflow_datasets as tfds

from train.datasets import digits

CANVAS, SIZE, SHIFT = 16, 12, 2


def upsampled_digits() -> tuple[np.ndarray, np.ndarray]:
  """All 1797 digits as float [0, 1] 12x12 images, and their labels."""
  from scipy import ndimage
  from sklearn.datasets import load_digits
  d = load_digits()
  images = np.stack([ndimage.zoom(im / 16.0, SIZE / 8, order=1) for im in d.images])
  return np.clip(images, 0.0, 1.0), d.target


def place(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
  canvas = np.zeros((CANVAS, CANVAS))
  top = (CANVAS - SIZE) // 2
  canvas[top + dy:top + dy + SIZE, top + dx:top + dx + SIZE] = image
  return canvas


def random_affine(canvas: np.ndarray, rng, shift=(0, 0)) -> np.ndarray:
  """Rotation, shear and scale about the canvas centre, then `shift` (bilinear resampling)."""
  from scipy import ndimage
  angle = np.deg2rad(rng.uniform(-20, 20))
  rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
  shear = np.array([[1.0, rng.uniform(-0.2, 0.2)], [0.0, 1.0]])
  scale = np.diag(rng.uniform(0.8, 1.2, size=2))
  forward = rot @ shear @ scale
  inverse = np.linalg.inv(forward)          # affine_transform maps output coords to input coords
  centre = (np.array(canvas.shape) - 1) / 2
  offset = centre - inverse @ (centre + np.asarray(shift, float))
  return ndimage.affine_transform(canvas, inverse, offset=offset, order=1)


def make_split(split: str):
  images, labels = upsampled_digits()
  idx = digits.split_indices()['train' if split == 'train' else 'test']
  rng = np.random.default_rng({'train': 1, 'test': 2, 'test_affine': 3}[split])
  out = []
  for copy in range(2 if split == 'train' else 1):
    for i in idx:
      dy, dx = rng.integers(-SHIFT, SHIFT + 1, size=2)
      if split == 'test_affine':
        canvas = random_affine(place(images[i], 0, 0), rng, (dy, dx))
      else:
        canvas = place(images[i], dy, dx)
      out.append((np.round(np.clip(canvas, 0, 1) * 255).astype(np.uint8), int(labels[i])))
  return out


class AffineDigits(tfds.core.GeneratorBasedBuilder):
  """8x8 digits upsampled onto a 16x16 canvas; translated train/test and an affine test split."""

  name = 'nnzoo_affine_digits'
  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'train x2 shifted, test shifted, test_affine (rot/shear/scale/shift).'}

  def _info(self):
    return tfds.core.DatasetInfo(
        builder=self,
        description=__doc__,
        features=tfds.features.FeaturesDict({
            'image': tfds.features.Image(shape=(CANVAS, CANVAS, 1)),
            'label': tfds.features.ClassLabel(num_classes=10),
        }),
        supervised_keys=('image', 'label'),
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # generated from scikit-learn's digits
    return {s: self._generate_examples(s) for s in ('train', 'test', 'test_affine')}

  def _generate_examples(self, split):
    for i, (image, label) in enumerate(make_split(split)):
      yield i, {'image': digits.png_bytes(image), 'label': label}
