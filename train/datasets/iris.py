"""Fisher's iris (UCI, as shipped in scikit-learn): 150 flowers, 4 measurements in cm, 3 species.

Features are stored as measured (`features`: float32[4] — sepal length, sepal width, petal length,
petal width — and `label`), the layout of the TFDS `iris` data set, so a config can name either.
The split is fixed: a seeded permutation (numpy default_rng(0)) puts 30 flowers in `test` and 120
in `train`.
"""

import numpy as np
import tensorflow_datasets as tfds

NUM_TEST = 30
FEATURE_NAMES = ('sepal length', 'sepal width', 'petal length', 'petal width')


def split_indices() -> dict[str, np.ndarray]:
  perm = np.random.default_rng(0).permutation(150)
  return {'train': np.sort(perm[NUM_TEST:]), 'test': np.sort(perm[:NUM_TEST])}


class Iris(tfds.core.GeneratorBasedBuilder):
  """Iris measurements from scikit-learn, as a TFDS data set."""

  name = 'nnzoo_iris'
  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'scikit-learn load_iris(); seeded split, 120 train / 30 test.'}

  def _info(self):
    return tfds.core.DatasetInfo(
        builder=self,
        description=__doc__,
        features=tfds.features.FeaturesDict({
            'features': tfds.features.Tensor(shape=(4,), dtype=np.float32),
            'label': tfds.features.ClassLabel(names=['setosa', 'versicolor', 'virginica']),
        }),
        supervised_keys=('features', 'label'),
        homepage='https://archive.ics.uci.edu/dataset/53',
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # nothing to download: the data ships inside scikit-learn
    return {split: self._generate_examples(idx) for split, idx in split_indices().items()}

  def _generate_examples(self, part):
    from sklearn.datasets import load_iris
    d = load_iris()
    for i, (x, label) in enumerate(zip(d.data[part].astype(np.float32), d.target[part])):
      yield i, {'features': x, 'label': int(label)}
