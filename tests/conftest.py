"""Tests run on 8 fake CPU devices, so every sharded path is exercised without accelerators."""

import os

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
