"""Fashion-MNIST (Xiao et al. 2017) built offline as TFDS's own `fashion_mnist` 3.0.1.

TFDS's builder downloads the four IDX files and encodes numpy images with TensorFlow. This one
inherits its name, version and features, reads the files that `apt-get install
dataset-fashion-mnist` puts in /usr/share/datasets/fashion-mnist (or $NNZOO_FASHION_MNIST_DIR;
gzipped or not) and yields PNG bytes, so the result is the same data set, read by plain
`tfds.data_source('fashion_mnist', ...)`, built without network or TensorFlow.

All four files are checked in full before a record is written: a bad or missing file stops the
build with one line. TFDS writes into a temporary directory and renames it into place only when
the build succeeds, so a failed build leaves nothing that a later run would take as prepared.
"""

import gzip
import os
import zlib

import numpy as np
from tensorflow_datasets.image_classification import mnist

from train.datasets.digits import png_bytes
from train.errors import UserError

ENV = 'NNZOO_FASHION_MNIST_DIR'
DEFAULT_DIR = '/usr/share/datasets/fashion-mnist'
SIZE = 28
NUM_CLASSES = 10
COUNTS = {'train': 60000, 'test': 10000}   # examples per split, a tenth of them in each class
PREFIX = {'train': 'train', 'test': 't10k'}
MAGIC = {'images': 2051, 'labels': 2049}    # IDX: 0x08 (unsigned bytes), then 3 or 1 dimensions


def source_dir() -> str:
  return os.environ.get(ENV) or DEFAULT_DIR


def locate(directory: str) -> dict:
  """{(split, kind): path} of the four files, each `NAME.gz` or `NAME`."""
  found, missing = {}, []
  for split, prefix in PREFIX.items():
    for kind, idx in (('images', 'idx3'), ('labels', 'idx1')):
      stem = f'{prefix}-{kind}-{idx}-ubyte'
      paths = [os.path.join(directory, stem + ext) for ext in ('.gz', '')]
      path = next((p for p in paths if os.path.isfile(p)), None)
      if path is None:
        missing.append(stem)
      found[split, kind] = path
  if missing:
    raise UserError(
        f'Fashion-MNIST files not found in {directory} (missing {", ".join(missing)}, .gz or not): '
        f'install them with `sudo apt-get install dataset-fashion-mnist`, or set {ENV} to a '
        f'directory that holds the four IDX files')
  return found


def _read(path: str, limit: int) -> bytes:
  """Up to `limit` bytes of the file's content, gunzipped if it is gzip (by its first bytes)."""
  try:
    with open(path, 'rb') as f:
      is_gzip = f.read(2) == b'\x1f\x8b'
    with (gzip.open if is_gzip else open)(path, 'rb') as f:
      return f.read(limit)
  except (EOFError, gzip.BadGzipFile, zlib.error) as e:
    raise UserError(f'Fashion-MNIST file {path} is truncated or corrupt '
                    f'({" ".join(str(e).split())})') from None
  except OSError as e:
    raise UserError(f'cannot read Fashion-MNIST file {path}: {e.strerror or e}') from None


def read_idx(path: str, kind: str, count: int) -> np.ndarray:
  """The uint8 array of one IDX file, after checking its magic, dimensions and exact length."""
  dims = (count, SIZE, SIZE) if kind == 'images' else (count,)
  header = 4 + 4 * len(dims)
  expected = header + int(np.prod(dims))
  raw = _read(path, expected + 1)   # one byte more tells a too-long file from a right one
  where = f'Fashion-MNIST file {path}'
  if len(raw) < header:
    raise UserError(f'{where} ends inside its IDX header ({len(raw)} bytes; truncated or corrupt)')
  magic = int.from_bytes(raw[:4], 'big')
  if magic != MAGIC[kind]:
    raise UserError(f'{where} is not an IDX {kind} file (magic {magic}, expected {MAGIC[kind]})')
  got = tuple(int(d) for d in np.frombuffer(raw[4:header], '>u4'))
  if got[0] != count:
    raise UserError(f'{where} holds {got[0]} {kind}, expected {count}')
  if got[1:] != dims[1:]:
    raise UserError(f'{where} holds {"x".join(map(str, got[1:]))} images, expected {SIZE}x{SIZE}')
  if len(raw) != expected:
    size = f'more than {expected}' if len(raw) > expected else str(len(raw))
    raise UserError(f'{where} has {size} bytes of data, expected exactly {expected} '
                    f'(truncated or corrupt)')
  return np.frombuffer(raw, np.uint8, offset=header).reshape(dims)


def read_split(paths: dict, split: str) -> tuple[np.ndarray, np.ndarray]:
  """(images NxHxWx1, labels N) of one split, its labels checked: 0..9, as many in each class."""
  count = COUNTS[split]
  images = read_idx(paths[split, 'images'], 'images', count)
  labels = read_idx(paths[split, 'labels'], 'labels', count)
  where = f'Fashion-MNIST file {paths[split, "labels"]}'
  if len(images) != len(labels):
    raise UserError(f'{where} holds {len(labels)} labels for {len(images)} images')
  if labels.max() >= NUM_CLASSES:
    raise UserError(f'{where} holds label {labels.max()}, expected 0..{NUM_CLASSES - 1}')
  per_class = np.bincount(labels, minlength=NUM_CLASSES)
  if (per_class != count // NUM_CLASSES).any():
    raise UserError(f'{where} holds {per_class.tolist()} examples per class, expected '
                    f'{count // NUM_CLASSES} of each')
  return images[..., None], labels


def read_all(directory: str | None = None) -> dict:
  """{split: (images, labels)} from all four files, each checked before any is used."""
  paths = locate(directory or source_dir())
  return {split: read_split(paths, split) for split in COUNTS}


class LocalFashionMNIST(mnist.FashionMNIST, skip_registration=True):
  """TFDS's fashion_mnist (same name, version, features), from local files. Kept out of TFDS's
  registry so `tfds.builder('fashion_mnist')` still finds TFDS's own class."""

  name = 'fashion_mnist'

  @staticmethod
  def check_sources() -> None:
    """Reads and checks all four files (under a second); ensure_built calls it before a build."""
    read_all()

  def _split_generators(self, dl_manager):
    del dl_manager   # nothing to download: the files are on this machine
    data = read_all()
    return {split: self._generate_examples(*data[split]) for split in COUNTS}

  def _generate_examples(self, images, labels):  # pylint: disable=arguments-differ
    for i, (image, label) in enumerate(zip(images, labels)):
      yield i, {'image': png_bytes(image), 'label': int(label)}
