"""fashion_mnist: TFDS's own data set built offline from the IDX files of dataset-fashion-mnist.

The default tests check the files with tiny hand-made IDX files (the expected counts patched down);
the build of the real 70k examples is slow and runs once, with `pytest -m slow`.
"""

import gzip
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds
from tensorflow_datasets.image_classification import mnist

from train import config as config_lib
from train import data
from train import datasets
from train.datasets import fashion_mnist as fm
from train.errors import UserError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REAL = '/usr/share/datasets/fashion-mnist'
needs_real = pytest.mark.skipif(not os.path.isdir(REAL),
                                reason=f'{REAL} absent: sudo apt-get install dataset-fashion-mnist')
TINY = {'train': 20, 'test': 10}   # two and one examples a class


def write_idx(path, array, magic, count=None, gz=True):
  """An IDX file of uint8 `array`; `count` overrides the first dimension its header states."""
  dims = (count if count is not None else array.shape[0],) + array.shape[1:]
  raw = (magic.to_bytes(4, 'big') + np.asarray(dims, '>u4').tobytes()
         + np.ascontiguousarray(array, np.uint8).tobytes())
  with (gzip.open if gz else open)(str(path) + ('.gz' if gz else ''), 'wb') as f:
    f.write(raw)


def write_files(directory, counts=TINY, gz=True):
  os.makedirs(directory, exist_ok=True)
  rng = np.random.default_rng(0)
  for split, n in counts.items():
    prefix = fm.PREFIX[split]
    write_idx(f'{directory}/{prefix}-images-idx3-ubyte', rng.integers(0, 256, (n, 28, 28)),
              fm.MAGIC['images'], gz=gz)
    write_idx(f'{directory}/{prefix}-labels-idx1-ubyte', np.arange(n) % 10, fm.MAGIC['labels'],
              gz=gz)
  return str(directory)


@pytest.fixture
def tiny(tmp_path, monkeypatch):
  """A directory of valid tiny files, the expected counts patched to theirs, and the env at it."""
  monkeypatch.setattr(fm, 'COUNTS', TINY)
  d = write_files(tmp_path / 'src')
  monkeypatch.setenv(fm.ENV, d)
  return d


def error(directory=None) -> str:
  with pytest.raises(UserError) as e:
    fm.read_all(directory)
  msg = str(e.value)
  assert '\n' not in msg
  return msg


def test_missing_files_say_what_to_install_and_where_it_looked(tmp_path, monkeypatch):
  monkeypatch.setenv(fm.ENV, str(tmp_path))
  msg = error()
  assert 'apt-get install dataset-fashion-mnist' in msg and 'NNZOO_FASHION_MNIST_DIR' in msg
  assert str(tmp_path) in msg and 't10k-labels-idx1-ubyte' in msg


def test_tiny_files_read_gzipped_or_not(tiny, tmp_path):
  images, labels = fm.read_all()['train']
  assert images.shape == (20, 28, 28, 1) and images.dtype == np.uint8
  assert np.bincount(labels).tolist() == [2] * 10
  plain = write_files(tmp_path / 'plain', gz=False)
  np.testing.assert_array_equal(fm.read_all(plain)['train'][0], images)


def test_wrong_magic_names_the_file(tiny):
  path = f'{tiny}/t10k-images-idx3-ubyte.gz'
  write_idx(path[:-3], np.zeros((10, 28, 28)), fm.MAGIC['labels'])
  msg = error()
  assert path in msg and 'magic 2049, expected 2051' in msg


def test_truncated_gzip_is_truncated_or_corrupt(tiny):
  path = f'{tiny}/train-labels-idx1-ubyte.gz'
  raw = open(path, 'rb').read()
  open(path, 'wb').write(raw[:-10])
  msg = error()
  assert path in msg and 'truncated or corrupt' in msg


def test_wrong_count_and_short_data(tiny):
  path = f'{tiny}/train-images-idx3-ubyte'
  write_idx(path, np.zeros((19, 28, 28)), fm.MAGIC['images'])
  assert 'holds 19 images, expected 20' in error()
  write_idx(path, np.zeros((19, 28, 28)), fm.MAGIC['images'], count=20)   # header says 20
  msg = error()
  assert path in msg and 'expected exactly 15696' in msg and 'truncated' in msg
  write_idx(path, np.zeros((20, 32, 32)), fm.MAGIC['images'])
  assert 'holds 32x32 images, expected 28x28' in error()


def test_real_sized_header_on_a_short_file(tmp_path):
  """The real counts: a header that says 60000 over a few images is caught by its length."""
  d = write_files(tmp_path, counts={'train': 1, 'test': 1})   # the train images are read first
  write_idx(f'{d}/train-images-idx3-ubyte', np.zeros((5, 28, 28)), fm.MAGIC['images'], count=60000)
  msg = error(d)
  assert 'train-images-idx3-ubyte.gz has 3936 bytes of data, expected exactly 47040016' in msg


def test_labels_out_of_range_or_unbalanced(tiny):
  path = f'{tiny}/train-labels-idx1-ubyte'
  write_idx(path, np.arange(20) % 11, fm.MAGIC['labels'])
  assert 'holds label 10, expected 0..9' in error()
  labels = np.arange(20) % 10
  labels[0] = 1
  write_idx(path, labels, fm.MAGIC['labels'])
  msg = error()
  assert path in msg and '[1, 3, 2, 2, 2, 2, 2, 2, 2, 2] examples per class, expected 2' in msg


def test_kept_out_of_tfds_registry_with_tfds_features():
  assert tfds.builder_cls('fashion_mnist') is mnist.FashionMNIST
  assert fm.LocalFashionMNIST.name == 'fashion_mnist'
  assert str(fm.LocalFashionMNIST.VERSION) == '3.0.1'


def test_failed_build_leaves_nothing_then_builds_and_a_prepared_dir_is_only_read(tiny, tmp_path,
                                                                                 monkeypatch):
  out = str(tmp_path / 'tfds')
  good = open(f'{tiny}/train-images-idx3-ubyte.gz', 'rb').read()
  open(f'{tiny}/train-images-idx3-ubyte.gz', 'wb').write(good[:len(good) // 2])
  with pytest.raises(UserError, match='truncated or corrupt'):
    datasets.ensure_built('fashion_mnist', out)    # checked before TFDS starts
  with pytest.raises(UserError, match='truncated or corrupt'):   # and inside TFDS's own build
    fm.LocalFashionMNIST(data_dir=out, file_format='array_record').download_and_prepare()
  assert not os.path.exists(f'{out}/fashion_mnist/3.0.1')
  assert not [p for p in os.listdir(f'{out}/fashion_mnist') if 'incomplete' in p]
  assert not fm.LocalFashionMNIST(data_dir=out).is_prepared()

  open(f'{tiny}/train-images-idx3-ubyte.gz', 'wb').write(good)
  datasets.ensure_built('fashion_mnist', out)
  source = tfds.data_source('fashion_mnist', split='test', data_dir=out)
  assert len(source) == 10 and source[0]['image'].shape == (28, 28, 1)

  # A data dir that holds fashion_mnist (TFDS's own build in a bucket) is read, never rebuilt.
  monkeypatch.setenv(fm.ENV, str(tmp_path / 'nothing'))
  c = config_lib.base_config()
  c.data.name, c.data.data_dir = 'fashion_mnist', out
  assert len(data.open_source(c.data, 'train')) == 20


def test_absent_files_exit_2_with_one_line(tmp_path):
  """Through the CLI; the workdir's config.json names the data dir it resolved."""
  empty, workdir, data_dir = tmp_path / 'empty', tmp_path / 'w', tmp_path / 'tfds'
  empty.mkdir()
  env = dict(os.environ, NNZOO_FASHION_MNIST_DIR=str(empty), NNZOO_DATA_DIR=str(data_dir),
             XLA_FLAGS='--xla_force_host_platform_device_count=1')
  env.pop('NNZOO_DEBUG', None)
  p = subprocess.run([sys.executable, '-m', 'train', '--config', 'experiments/zoo/cnn_digits.py',
                      '--workdir', str(workdir), '--config.data.name=fashion_mnist'],
                     cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
  assert p.returncode == 2, p.stderr
  lines = p.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith('nnzoo: error: Fashion-MNIST files not found')
  assert 'apt-get install dataset-fashion-mnist' in lines[0] and str(empty) in lines[0]
  assert json.loads((workdir / 'config.json').read_text())['data']['data_dir'] == str(data_dir)


# --- The real files ------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def real_dir(tmp_path_factory):
  """The real build, once: 70k PNG encodes and ArrayRecord writes (~15 s on 2 cores)."""
  d = str(tmp_path_factory.mktemp('fashion_tfds'))
  with pytest.MonkeyPatch.context() as mp:
    mp.setenv(fm.ENV, REAL)
    datasets.ensure_built('fashion_mnist', d)
  return d


@pytest.mark.slow
@needs_real
def test_real_build_is_tfds_fashion_mnist(real_dir):
  b = tfds.builder_from_directory(f'{real_dir}/fashion_mnist/3.0.1')
  ours = b.info.features['label'].names
  assert ours == mnist.FashionMNIST(data_dir=real_dir).info.features['label'].names
  assert {k: v.num_examples for k, v in b.info.splits.items()} == {'train': 60000, 'test': 10000}
  c = config_lib.base_config()
  c.data.name, c.data.data_dir = 'fashion_mnist', real_dir
  train = data.ArraySource(data.open_source(c.data, 'train'))
  test = data.ArraySource(data.open_source(c.data, 'test'))
  assert np.bincount(train.arrays['label']).tolist() == [6000] * 10
  assert np.bincount(test.arrays['label']).tolist() == [1000] * 10
  x = train.arrays['image'] / 255.0
  assert train.arrays['image'].shape == (60000, 28, 28, 1)
  assert abs(x.mean() - 0.2860) < 1e-3 and abs(x.std() - 0.3530) < 1e-3


@pytest.mark.slow
@needs_real
def test_a_run_records_a_data_dir_that_plain_tfds_reads(real_dir, tmp_path):
  """A short run with data_dir unset; then a process that never imports nnzoo opens the data dir
  its config.json names."""
  workdir = tmp_path / 'w'
  env = dict(os.environ, NNZOO_DATA_DIR=real_dir, NNZOO_FASHION_MNIST_DIR=str(tmp_path),
             XLA_FLAGS='--xla_force_host_platform_device_count=1')
  p = subprocess.run([sys.executable, '-m', 'train', '--config', 'experiments/zoo/cnn_digits.py',
                      '--workdir', str(workdir), '--config.data.name=fashion_mnist',
                      '--config.num_steps=2', '--config.eval_every=0', '--config.ckpt_every=0',
                      '--config.plots=False'],
                     cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
  assert p.returncode == 0, p.stderr[-2000:]
  d = json.loads((workdir / 'config.json').read_text())['data']['data_dir']
  assert d == real_dir
  code = ('import sys, tensorflow_datasets as tfds\n'
          f's = tfds.data_source("fashion_mnist", split="test", data_dir={d!r})\n'
          'x = s[0]["image"]\n'
          'assert not any(m == "train" or m.startswith("train.") for m in sys.modules)\n'
          'print(len(s), x.shape, x.dtype)\n')
  out = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, capture_output=True, text=True,
                       timeout=300)
  assert out.returncode == 0, out.stderr[-2000:]
  assert out.stdout.split('\n')[-2] == '10000 (28, 28, 1) uint8'
