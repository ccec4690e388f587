"""Character-level text: the Python standard library's own source, as bytes in 129-byte windows.

The corpus is every top-level `*.py` file of the running interpreter's standard library
(sysconfig 'stdlib' path; ~4.7 MB, 168 files for CPython 3.11), in sorted order. Files, not
windows, are split, so held-out text comes from modules never seen in training: a file goes to
`test` when crc32(name) % 20 == 0, to `validation` when it is 1, to `train` otherwise. Each split is
its files joined by a NUL byte, cut into non-overlapping windows of 129 bytes (a model reads 128
and predicts the next byte at each; tokens are byte values 0..255).

The text depends on the Python version that builds it; the version is part of the description.
"""

import glob
import os
import sys
import sysconfig
import zlib

import numpy as np
import tensorflow_datasets as tfds

WINDOW = 129


def split_of(filename: str) -> str:
  bucket = zlib.crc32(os.path.basename(filename).encode()) % 20
  return 'test' if bucket == 0 else 'validation' if bucket == 1 else 'train'


def corpus(split: str) -> bytes:
  files = sorted(glob.glob(os.path.join(sysconfig.get_paths()['stdlib'], '*.py')))
  parts = []
  for f in files:
    if split_of(f) == split:
      with open(f, 'rb') as fh:
        parts.append(fh.read())
  return b'\0'.join(parts)


def windows(text: bytes) -> np.ndarray:
  data = np.frombuffer(text, np.uint8)
  n = len(data) // WINDOW
  return data[:n * WINDOW].reshape(n, WINDOW).astype(np.int32)


class PyChars(tfds.core.GeneratorBasedBuilder):
  """Python standard library source as byte-level language modelling data."""

  name = 'nnzoo_pychars'
  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'top-level stdlib *.py, split by file (crc32 % 20), 129-byte windows.'}

  def _info(self):
    return tfds.core.DatasetInfo(
        builder=self,
        description=__doc__ + f'\nBuilt from CPython {sys.version.split()[0]}.',
        features=tfds.features.FeaturesDict({
            'tokens': tfds.features.Tensor(shape=(WINDOW,), dtype=np.int32),
        }),
        homepage='https://docs.python.org/3/library/',
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # the text ships with the interpreter
    return {split: self._generate_examples(split) for split in ('train', 'validation', 'test')}

  def _generate_examples(self, split):
    for i, row in enumerate(windows(corpus(split))):
      yield i, {'tokens': row}
