"""Decoded splits kept on disk (train/array_cache.py): read back instead of decoded, the same
arrays; a changed data set, mock data and NNZOO_ARRAY_CACHE=0 are never served from it."""

import os
import pathlib

import numpy as np
import pytest
import tensorflow_datasets as tfds

from train import config as config_lib
from train import data


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
  d = tmp_path / 'arrays'
  monkeypatch.setenv('NNZOO_ARRAY_CACHE_DIR', str(d))
  monkeypatch.delenv('NNZOO_ARRAY_CACHE', raising=False)
  return d


def _source(data_dir, split='train'):
  c = config_lib.base_config()
  c.data.data_dir = data_dir
  return data.open_source(c.data, split)


def _no_decoding(monkeypatch):
  def refuse(*args):
    raise AssertionError('decoded the split instead of reading it back')
  monkeypatch.setattr(data, 'read', refuse)


def test_a_split_decoded_once_is_read_back_equal(data_dir, cache_dir, monkeypatch):
  first = data.ArraySource(_source(data_dir)).arrays
  assert len(list(cache_dir.glob('*.npz'))) == 1
  with monkeypatch.context() as m:
    _no_decoding(m)
    again = data.ArraySource(_source(data_dir)).arrays
  assert sorted(again) == sorted(first)
  for k in first:
    assert again[k].dtype == first[k].dtype and np.array_equal(again[k], first[k]), k
  data.ArraySource(_source(data_dir, 'train[:100]'))   # another split string: its own file
  assert len(list(cache_dir.glob('*.npz'))) == 2
  assert not list(cache_dir.glob('.*'))                 # no temporary file left behind


def test_a_changed_data_set_is_decoded_afresh(data_dir, cache_dir, monkeypatch):
  data.ArraySource(_source(data_dir))
  where = pathlib.Path(_source(data_dir).dataset_info.data_dir)
  files = [p for p in where.iterdir() if 'train' in p.name]
  assert files, list(where.iterdir())
  stat = files[0].stat()
  os.utime(files[0], (stat.st_atime, stat.st_mtime + 10))   # the data set rebuilt or replaced
  decoded = []
  real_read = data.read
  monkeypatch.setattr(data, 'read', lambda *a: decoded.append(1) or real_read(*a))
  data.ArraySource(_source(data_dir))
  assert decoded and len(list(cache_dir.glob('*.npz'))) == 2


def test_a_damaged_file_is_decoded_again(data_dir, cache_dir):
  first = data.ArraySource(_source(data_dir)).arrays
  (path,) = cache_dir.glob('*.npz')
  path.write_bytes(b'not an npz')
  again = data.ArraySource(_source(data_dir)).arrays
  assert np.array_equal(again['image'], first['image'])


def test_mock_data_and_the_off_switch_never_use_it(data_dir, cache_dir, monkeypatch):
  c = config_lib.base_config()
  c.data.name = 'mnist'
  with tfds.testing.mock_data(num_examples=16):
    data.ArraySource(data.open_source(c.data, 'train'))
  monkeypatch.setenv('NNZOO_ARRAY_CACHE', '0')
  data.ArraySource(_source(data_dir))
  assert not cache_dir.exists() or not list(cache_dir.iterdir())
