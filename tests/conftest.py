"""Tests run on 8 fake CPU devices, so every sharded path is exercised without accelerators."""

import os
import tempfile

os.environ['XLA_FLAGS'] = (os.environ.get('XLA_FLAGS', '') +
                           ' --xla_force_host_platform_device_count=8').strip()
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import pytest  # noqa: E402


@pytest.fixture(scope='session')
def data_dir(tmp_path_factory):
  """A private TFDS data dir: offline data sets are built here once per test session."""
  d = tmp_path_factory.mktemp('tfds')
  os.environ['NNZOO_DATA_DIR'] = str(d)
  return str(d)


@pytest.fixture(scope='session', autouse=True)
def _array_cache_of_the_session(tmp_path_factory):
  """Decoded splits (train/array_cache.py) kept for this session's runs and subprocesses only: the
  session's data dirs are new each time, so their files would pile up in ~/.cache."""
  os.environ['NNZOO_ARRAY_CACHE_DIR'] = str(tmp_path_factory.mktemp('arrays'))
  # Compiled programs (train/compile_cache.py) likewise: shared by this session's runs only.
  os.environ['NNZOO_COMPILE_CACHE_DIR'] = str(tmp_path_factory.mktemp('jax_compile'))


@pytest.fixture(scope='session', autouse=True)
def _temp_dir_inside_pytests(tmp_path_factory):
  """TFDS leaves one empty mkdtemp directory behind for every builder it constructs before the data
  set is prepared (DatasetInfo.initialize_from_bucket), which the tests do hundreds of times: keep
  those (and any other temp files, subprocesses' included) in pytest's own, rotated temp dir."""
  d = str(tmp_path_factory.mktemp('tmp'))
  saved = tempfile.tempdir, os.environ.get('TMPDIR')
  tempfile.tempdir, os.environ['TMPDIR'] = d, d
  yield d
  tempfile.tempdir = saved[0]
  if saved[1] is None:
    os.environ.pop('TMPDIR', None)
  else:
    os.environ['TMPDIR'] = saved[1]
