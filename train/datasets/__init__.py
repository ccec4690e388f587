"""Data sets nnzoo builds offline, as real TFDS data sets (ArrayRecord), from data that ships in a
package, that code generates, or (fashion_mnist) that a system package puts on this machine. Each
is built once into the data dir on first use and then read through `tfds.data_source` exactly like
a downloaded TFDS data set; one already prepared there (TFDS's own fashion_mnist in a bucket) is
only read.
"""

import errno
import os

import jax
import tensorflow_datasets as tfds

from train.errors import UserError

from train.datasets import adding
from train.datasets import algorithmic
from train.datasets import affine_digits
from train.datasets import digits
from train.datasets import fashion_mnist
from train.datasets import pychars
from train.datasets import iris
from train.datasets import mackey_glass
from train.datasets import multi_digits
from train.datasets import ring

# TFDS name -> builder class. Importing a builder module registers its name with TFDS (except
# fashion_mnist's, which keeps TFDS's own class under that name: the data sets are the same).
LOCAL_BUILDERS = {
    digits.Digits.name: digits.Digits,
    adding.Adding.name: adding.Adding,
    algorithmic.Algorithmic.name: algorithmic.Algorithmic,
    pychars.PyChars.name: pychars.PyChars,
    iris.Iris.name: iris.Iris,
    mackey_glass.MackeyGlass.name: mackey_glass.MackeyGlass,
    ring.Ring.name: ring.Ring,
    affine_digits.AffineDigits.name: affine_digits.AffineDigits,
    multi_digits.MultiDigits.name: multi_digits.MultiDigits,
    fashion_mnist.LocalFashionMNIST.name: fashion_mnist.LocalFashionMNIST,
}


def default_data_dir() -> str:
  return (os.environ.get('NNZOO_DATA_DIR')
          or os.path.expanduser('~/.cache/nnzoo/tensorflow_datasets'))


def is_local(name: str) -> bool:
  """Whether `name` ('nnzoo_adding', or with a builder config 'nnzoo_adding/t100') is built here."""
  return name.split('/')[0].split(':')[0] in LOCAL_BUILDERS


def from_files(name: str) -> bool:
  """Whether a local data set is built from files a system package puts here (fashion_mnist),
  rather than from data inside a Python package or generated: those files may be absent."""
  base = name.split('/')[0].split(':')[0]
  return hasattr(LOCAL_BUILDERS.get(base), 'check_sources')


def can_build(name: str, data_dir: str) -> bool:
  """Whether `name` is built here, or can be: generated sets always, file-based ones when the
  data dir holds them or their source files are present."""
  if not is_local(name):
    return False
  if not from_files(name):
    return True
  b = local_builder(name, data_dir)
  if b.is_prepared():
    return True
  try:
    b.check_sources()
    return True
  except UserError:
    return False


def local_builder(name: str, data_dir: str):
  """The offline builder of `name` ('nnzoo_adding/t100': with its builder config) in data_dir."""
  base, _, config = name.split(':')[0].partition('/')
  cls = LOCAL_BUILDERS[base]
  known = [c.name for c in getattr(cls, 'BUILDER_CONFIGS', None) or ()]
  if config and config not in known:   # (no config: the builder's first, its default)
    raise UserError(f'data set {name!r}: {base} has the configs {", ".join(known)}; name one as '
                    f'{base}/<config>' if known else
                    f'data set {name!r}: {base} has no configs; name it {base!r}')
  kwargs = {'config': config} if config else {}
  return cls(data_dir=data_dir, file_format='array_record', **kwargs)


def ensure_built(name: str, data_dir: str) -> None:
  """Builds a local data set into `data_dir` unless it is already there (a no-op then)."""
  def builder():
    return local_builder(name, data_dir)

  def build():
    b = builder()
    if b.is_prepared():
      return
    try:
      b.download_and_prepare(download_config=tfds.download.DownloadConfig(try_download_gcs=False))
    except FileExistsError:   # another process (or run) sharing this data dir finished first
      if not builder().is_prepared():
        raise
    except OSError as e:   # a data dir that is a file, or not writable (a full disk stays exit 4)
      if e.errno == errno.ENOSPC:
        raise
      raise UserError(f'cannot build data set {name!r} into data dir {data_dir}: '
                      f'{e.strerror or e} ({e.filename or data_dir}); point '
                      f'--config.data.data_dir (or $NNZOO_DATA_DIR) at a writable '
                      f'directory') from None

  # A data set made from files on this machine checks them first, on every process, before TFDS
  # writes anything: a missing or bad file stops all processes alike (none waits at the barrier).
  if from_files(name) and not builder().is_prepared():
    builder().check_sources()

  # Several processes on one file system: process 0 builds, the others then find it built (on
  # hosts with their own disks they build their own copy after the barrier).
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils
    if jax.process_index() == 0:
      build()
    multihost_utils.sync_global_devices(f'nnzoo_built_{name}')
  build()
