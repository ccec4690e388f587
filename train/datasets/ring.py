"""A 2-D mixture of 8 Gaussians on a ring: the mode-collapse test of GANs.

Metz, Poole, Pfau & Sohl-Dickstein 2017 (unrolled GANs, Section 3.1) and Srivastava et al. 2017
(VEEGAN, Section 5.1): 8 modes evenly spaced on a circle of radius 2, each an isotropic Gaussian
with standard deviation 0.02, equal weights. Features: `point` float32[2] and `mode` (the mixture
component). Generated with numpy default_rng(0) (train) and default_rng(1) (test).
"""

import numpy as np
import tensorflow_datasets as tfds

MODES = 8
RADIUS = 2.0
STD = 0.02
SIZES = {'train': 20000, 'test': 2048}


def sample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
  rng = np.random.default_rng(seed)
  mode = rng.integers(0, MODES, n)
  angle = 2 * np.pi * mode / MODES
  centre = RADIUS * np.stack([np.cos(angle), np.sin(angle)], 1)
  return (centre + STD * rng.standard_normal((n, 2))).astype(np.float32), mode


class Ring(tfds.core.GeneratorBasedBuilder):
  """Points of an 8-Gaussian ring mixture, as a TFDS data set."""

  name = 'nnzoo_ring8'
  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': '8 modes, radius 2, std 0.02; 20000 train / 2048 test.'}

  def _info(self):
    return tfds.core.DatasetInfo(
        builder=self,
        description=__doc__,
        features=tfds.features.FeaturesDict({
            'point': tfds.features.Tensor(shape=(2,), dtype=np.float32),
            'mode': tfds.features.ClassLabel(num_classes=MODES),
        }),
        homepage='https://arxiv.org/abs/1611.02163',
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # generated, nothing to download
    return {split: self._generate_examples(n, seed)
            for seed, (split, n) in enumerate(SIZES.items())}

  def _generate_examples(self, n, seed):
    points, modes = sample(n, seed)
    for i in range(n):
      yield i, {'point': points[i], 'mode': int(modes[i])}
