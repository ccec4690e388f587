"""Two overlapping handwritten digits of different classes: MultiMNIST, offline and at full scale.

Sabour, Frosst & Hinton 2017, Section 6.1: each MultiMNIST example overlays a digit on another
digit of a different class from the same split (train pairs from train digits, test pairs from
test digits); each digit is shifted by up to 4 pixels in each direction on a 36x36 canvas
(28 + 2 x 4), and the two images are added and clipped. 1000 pairs per MNIST digit: 60M train,
10M test examples.

`overlay_pairs` is that generator for any set of equally sized grey digits. The builder applies it
to a source chosen by its config:

  nnzoo_multi_digits          (config `digits`, the default) scikit-learn's 8x8 digits, split as
                              in `digits.split_indices()`, shifted by up to 2 pixels on a 12x12
                              canvas (the paper's 4 of a 20-pixel digit box, scaled to 8 pixels),
                              8 pairs per train digit (11,496) and 4 per test digit (1,440)
  nnzoo_multi_digits/mnist    TFDS mnist read from the same data dir (so `data_dir=gs://...` that
                              holds mnist works without a network), the paper's setting: 36x36,
                              shifts up to 4, 1000 pairs per digit (60M / 10M; a one-time build:
                              at the ~3k examples/s measured for `digits`, about 7 hours)

Every example holds the overlay `image`, each digit alone on the canvas (`image1`, `image2`, the
targets of the per-digit reconstructions) and both labels (`label`, `label2`). Deterministic:
partners and shifts come from numpy default_rng seeded per split and chunk.
"""

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from train.datasets import digits

SEEDS = {'train': 11, 'test': 12}


def place(images: np.ndarray, offsets: np.ndarray, shift: int) -> np.ndarray:
  """uint8 [N, H, W] images on a zero canvas [N, H + 2 shift, W + 2 shift], each moved by its
  offset (dy, dx) in [-shift, shift]^2 from the centre."""
  n, h, w = images.shape
  canvas = np.zeros((n, h + 2 * shift, w + 2 * shift), images.dtype)
  top = offsets + shift
  for dy, dx in np.unique(top, axis=0):   # one vectorized copy per distinct offset
    sel = np.flatnonzero((top[:, 0] == dy) & (top[:, 1] == dx))
    canvas[sel, dy:dy + h, dx:dx + w] = images[sel]
  return canvas


def overlay_pairs(images: np.ndarray, labels: np.ndarray, pairs_per_image: int, shift: int,
                  seed: int, chunk: int = 4096):
  """Yields dicts of arrays (image, image1, image2 [n, C, C] uint8; label, label2 [n]).

  Every image of `images` (uint8 [N, H, W]) is the first digit of `pairs_per_image` examples; its
  partner is drawn uniformly among the images of another class; both are shifted independently by
  up to `shift` pixels; the overlay is their sum clipped to 255. Chunks of `chunk` first digits
  have their own generator (seed, chunk index), so a chunk does not depend on the others.
  """
  labels = np.asarray(labels)
  n = len(images)
  for c, start in enumerate(range(0, n, chunk)):
    rng = np.random.default_rng([seed, c])
    first = np.repeat(np.arange(start, min(start + chunk, n)), pairs_per_image)
    second = rng.integers(0, n, size=len(first))
    clash = labels[second] == labels[first]
    while clash.any():
      second[clash] = rng.integers(0, n, size=int(clash.sum()))
      clash = labels[second] == labels[first]
    offsets = rng.integers(-shift, shift + 1, size=(len(first), 2, 2))
    a = place(images[first], offsets[:, 0], shift)
    b = place(images[second], offsets[:, 1], shift)
    merged = np.minimum(a.astype(np.uint16) + b, 255).astype(np.uint8)
    yield {'image': merged, 'image1': a, 'image2': b,
           'label': labels[first], 'label2': labels[second]}


def digits_source(split: str) -> tuple[np.ndarray, np.ndarray]:
  """scikit-learn's 8x8 digits of one split of `digits.split_indices()`, as 0..255 uint8."""
  from sklearn.datasets import load_digits
  d = load_digits()
  idx = digits.split_indices()[split]
  return np.round(d.images[idx] * (255.0 / 16.0)).astype(np.uint8), d.target[idx]


def tfds_source(name: str, split: str, data_dir, chunk: int = 4096):
  """All images ([N, H, W] uint8) and labels of a prepared TFDS image set, read without TF."""
  src = tfds.data_source(name, split=split, data_dir=data_dir, download=False, try_gcs=False)
  images, labels = [], []
  for start in range(0, len(src), chunk):
    rows = [src[i] for i in range(start, min(start + chunk, len(src)))]
    images.append(np.stack([np.asarray(r['image']).reshape(np.shape(r['image'])[:2])
                            for r in rows]))
    labels.append(np.asarray([r['label'] for r in rows]))
  return np.concatenate(images).astype(np.uint8), np.concatenate(labels)


@dataclasses.dataclass(eq=False)
class MultiDigitsConfig(tfds.core.BuilderConfig):
  source: str = 'digits'       # 'digits' (scikit-learn, offline) or a TFDS image set ('mnist')
  size: int = 8                # the source's image side
  shift: int = 2               # each digit moves by up to this many pixels per direction
  train_pairs: int = 8         # pairs per train digit
  test_pairs: int = 4          # pairs per test digit


class MultiDigits(tfds.core.GeneratorBasedBuilder):
  """Two shifted digits of different classes added on one canvas, with both labels."""

  name = 'nnzoo_multi_digits'
  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'digits (8x8 -> 12x12, shift 2) and mnist (28 -> 36, shift 4).'}
  BUILDER_CONFIGS = [
      MultiDigitsConfig(name='digits', description='scikit-learn 8x8 digits, 12x12 canvas'),
      MultiDigitsConfig(name='mnist', description='Sabour et al. 2017 MultiMNIST from TFDS mnist',
                        source='mnist', size=28, shift=4, train_pairs=1000, test_pairs=1000),
  ]

  def _info(self):
    side = self.builder_config.size + 2 * self.builder_config.shift
    image = lambda: tfds.features.Image(shape=(side, side, 1))  # noqa: E731
    return tfds.core.DatasetInfo(
        builder=self,
        description=__doc__,
        features=tfds.features.FeaturesDict({
            'image': image(), 'image1': image(), 'image2': image(),
            'label': tfds.features.ClassLabel(num_classes=10),
            'label2': tfds.features.ClassLabel(num_classes=10),
        }),
        supervised_keys=('image', 'label'),
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # generated from digits that are already here
    return {s: self._generate_examples(s) for s in ('train', 'test')}

  def _generate_examples(self, split):
    cfg = self.builder_config
    if cfg.source == 'digits':
      images, labels = digits_source(split)
    else:
      images, labels = tfds_source(cfg.source, split, self.data_dir_root)
    pairs = cfg.train_pairs if split == 'train' else cfg.test_pairs
    key = 0
    for part in overlay_pairs(images, labels, pairs, cfg.shift, SEEDS[split]):
      for i in range(len(part['label'])):
        yield key, {'image': digits.png_bytes(part['image'][i]),
                    'image1': digits.png_bytes(part['image1'][i]),
                    'image2': digits.png_bytes(part['image2'][i]),
                    'label': int(part['label'][i]), 'label2': int(part['label2'][i])}
        key += 1
