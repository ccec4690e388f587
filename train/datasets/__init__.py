"""Data sets nnzoo builds offline, as real TFDS data sets (ArrayRecord), from data that ships in a
package or that code generates. Each is built once into the data dir on first use and then read
through `tfds.data_source` exactly like a downloaded TFDS data set.
"""

import os

import tensorflow_datasets as tfds

from train.datasets import affine_digits
from train.datasets import digits

# TFDS name -> builder class. Importing a builder module registers its name with TFDS.
LOCAL_BUILDERS = {
    digits.Digits.name: digits.Digits,
    affine_digits.AffineDigits.name: affine_digits.AffineDigits,
}


def default_data_dir() -> str:
  return os.environ.get('NNZOO_DATA_DIR') or os.path.expanduser('~/.cache/nnzoo/tensorflow_datasets')


def ensure_built(name: str, data_dir: str) -> None:
  """Builds a local data set into `data_dir` unless it is already there (a no-op then)."""
  builder = LOCAL_BUILDERS[name](data_dir=data_dir, file_format='array_record')
  if not builder.is_prepared():
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(try_download_gcs=False))
