"""The input pipeline: offline TFDS data, deterministic order, per-process slices, eval padding."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from train import config as config_lib
from train import data
from train.errors import UserError


def _config(data_dir, **data_kw):
  c = config_lib.base_config()
  c.data.data_dir = data_dir
  for k, v in data_kw.items():
    c.data[k] = v
  return c


def test_digits_is_a_real_tfds_data_set(data_dir):
  c = _config(data_dir)
  train = data.open_source(c.data, 'train')
  test = data.open_source(c.data, 'test')
  assert (len(train), len(test)) == (1437, 360)
  ex = train[0]
  assert ex['image'].shape == (8, 8, 1) and ex['image'].dtype == np.uint8
  # read back by tfds' own directory reader too, as any TFDS data set
  builder = tfds.builder_from_directory(f'{data_dir}/nnzoo_digits/1.0.0')
  assert builder.info.features['label'].num_classes == 10


def test_train_order_is_deterministic_and_reshuffled_each_epoch(data_dir):
  p = data.make_pipeline(_config(data_dir))
  q = data.make_pipeline(_config(data_dir))
  np.testing.assert_array_equal(p.train_indices(3), q.train_indices(3))
  steps_per_epoch = 1437 // 128
  first = np.concatenate([p.train_indices(s) for s in range(steps_per_epoch)])
  assert len(set(first.tolist())) == len(first)        # no repeats within an epoch
  e0 = p._epoch_order(0)
  e1 = p._epoch_order(1)
  assert sorted(e0) == sorted(e1) and not np.array_equal(e0, e1)
  other = data.make_pipeline(_config(data_dir, shuffle_seed=7))
  assert not np.array_equal(other.train_indices(0), p.train_indices(0))


def test_processes_read_disjoint_slices_that_make_up_the_global_batch(data_dir):
  """Elastic resume's data half: on any process count the processes' slices, in process order,
  are the one-process global batch row for row (train and eval), so the examples and their rows
  depend on the seed and the step only."""
  c = _config(data_dir)
  single = data.make_pipeline(c)
  one_eval = [b['label'] for b in single.eval_batches()]
  for count in (2, 4, 8):
    parts = [data.Pipeline(single.train_source, single.eval_source, 128, 128, single.shuffle_seed,
                           pi, count) for pi in range(count)]
    for step in (5, 11, 12):   # 11 batches an epoch: step 11 spans two epochs
      got = [p.train_indices(step) for p in parts]
      assert all(len(x) == 128 // count for x in got)
      np.testing.assert_array_equal(np.concatenate(got), single.train_indices(step))
    evals = [[b['label'] for b in p.eval_batches()] for p in parts]
    for b, labels in enumerate(one_eval):
      np.testing.assert_array_equal(np.concatenate([e[b] for e in evals]), labels)


def test_a_process_reads_the_rows_its_devices_hold(data_dir):
  import jax
  mesh = jax.make_mesh((2, 4), ('data', 'model'))
  by_data = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec('data'))
  np.testing.assert_array_equal(data.local_rows(by_data, 16), np.arange(16))   # one process
  p = data.make_pipeline(_config(data_dir), by_data)
  np.testing.assert_array_equal(p.train_rows, np.arange(128))
  np.testing.assert_array_equal(p.train_indices(3), data.make_pipeline(
      _config(data_dir)).train_indices(3))


def test_eval_batches_cover_every_example_once_with_mask(data_dir):
  p = data.make_pipeline(_config(data_dir, eval_batch_size=64))
  batches = list(p.eval_batches())
  assert len(batches) == 6  # ceil(360 / 64)
  assert sum(b['mask'].sum() for b in batches) == 360
  # Which examples: the unmasked rows, in order, are the test split's 360 examples, each once
  # (a dropped last batch, a repeated or a shifted example would change these arrays).
  real = {k: np.concatenate([b[k][b['mask'] > 0] for b in batches]) for k in ('image', 'label')}
  split = data.scale_images(data.read(p.eval_source, np.arange(360)))
  np.testing.assert_array_equal(real['image'], split['image'])
  np.testing.assert_array_equal(real['label'], split['label'])
  assert len({x.tobytes() for x in split['image']}) > 350   # the images tell examples apart
  assert batches[-1]['mask'][-1] == 0 and batches[0]['image'].dtype == np.float32
  assert batches[0]['image'].max() <= 1.0


def test_mock_mnist_through_the_same_pipeline():
  c = _config('', name='mnist', batch_size=16, cache=False)
  with tfds.testing.mock_data(num_examples=64):
    p = data.make_pipeline(c)
    b = p.train_batch(0)
  assert b['image'].shape == (16, 28, 28, 1) and b['image'].dtype == np.float32


def test_missing_data_set_names_set_dir_and_fix(tmp_path):
  c = _config(str(tmp_path), name='mnist')
  with pytest.raises(UserError) as e:
    data.open_source(c.data, 'train')
  msg = str(e.value)
  assert "'mnist'" in msg and str(tmp_path) in msg and 'tfds build mnist' in msg


def test_batch_not_divisible_by_devices(data_dir):
  with pytest.raises(UserError, match='not divisible by the 8 devices'):
    data.make_pipeline(_config(data_dir, batch_size=12))


def _bitwise_equal(a: dict, b: dict) -> None:
  assert sorted(a) == sorted(b)
  for k in a:
    assert a[k].dtype == b[k].dtype and a[k].sharding == b[k].sharding, k
    x, y = np.asarray(a[k]), np.asarray(b[k])
    assert x.shape == y.shape and x.tobytes() == y.tobytes(), k


def test_batches_made_on_the_devices_are_the_host_paths_bitwise(data_dir):
  """config.data.device_resident: the train split kept on the 8 devices and each step's batch
  gathered and scaled there equals the host path's batch bit for bit, in the same sharding, across
  an epoch boundary, with some classes relabelled and mean/std on."""
  import jax
  mesh = jax.make_mesh((8,), ('data',))
  by_data = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec('data'))
  c = _config(data_dir, classes=(7, 2, 9, 0, 1, 3), mean=(0.3,), std=(0.2,), batch_size=64)
  p = data.make_pipeline(c, by_data)
  assert p.device_resident and p.not_resident(by_data) is None
  steps = len(p.train_source) // 64   # the last step's batch spans two epochs
  host = list(data.host_stream(p, steps - 2, steps + 2, by_data))
  made = list(p.train_stream(steps - 2, steps + 2, by_data))
  assert len(made) == len(host) == 4
  for a, b in zip(host, made):
    _bitwise_equal(a, b)
  assert set(np.asarray(made[0]['label']).tolist()) <= set(range(6))


def test_colour_images_made_on_the_devices_are_the_host_paths_bitwise():
  """Three channels, each with its own mean and std, every uint8 value in each: the value tables
  give what the host's own arithmetic does (XLA's would differ in the last bit: it multiplies by
  the reciprocal)."""
  import jax
  rng = np.random.default_rng(0)
  rows = [{'image': rng.integers(0, 256, (6, 5, 3), dtype=np.uint8), 'label': np.int64(i % 4),
           'id': f'example {i}'} for i in range(40)]
  rows[0]['image'][:] = np.arange(90).reshape(6, 5, 3)     # with rows 1 and 2, all 256 values
  rows[1]['image'][:] = np.arange(90, 180).reshape(6, 5, 3)
  rows[2]['image'][:] = np.arange(166, 256).reshape(6, 5, 3)
  source = data.ArraySource(rows)
  mesh = jax.make_mesh((8,), ('data',))
  by_data = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec('data'))
  p = data.Pipeline(source, source, 16, 16, 3, 0, 1, device_resident=True,
                    normalize=data.normalizer((0.49, 0.48, 0.45), (0.247, 0.243, 0.262)))
  assert p.not_resident(by_data) is None
  tables = p.value_tables(source.arrays)
  assert tables['image'].shape == (256, 3)
  mean, std = np.float32([0.49, 0.48, 0.45]), np.float32([0.247, 0.243, 0.262])
  plain = jax.jit(lambda x: (x.astype(np.float32) / 255.0 - mean) / std)   # why the tables exist
  host = p.normalize(data.scale_images({'image': source.arrays['image']}))['image']
  assert not np.array_equal(np.asarray(plain(source.arrays['image'])), host)
  for a, b in zip(data.host_stream(p, 0, 6, by_data), p.train_stream(0, 6, by_data)):
    _bitwise_equal(a, b)
    assert 'id' not in b


def test_the_split_stays_on_the_host_where_batches_are_not_a_plain_gather(data_dir):
  """Augmentation (host numpy per batch), a second stream, several processes, an uncached split,
  a split too large: each named, and the stream still gives the host path's batches."""
  import jax
  mesh = jax.make_mesh((8,), ('data',))
  by_data = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec('data'))
  cases = {'augment': dict(augment=('flip_left_right',)),
           'val_split': dict(val_split='train[:50%]'), 'cache=False': dict(cache=False),
           'device_resident': dict(device_resident=False)}
  for why, kw in cases.items():
    p = data.make_pipeline(_config(data_dir, **kw), by_data)
    if why != 'device_resident':
      assert why in p.not_resident(by_data), why
    assert p.resident_split(by_data) is None or not p.device_resident
    b = next(iter(p.train_stream(0, 1, by_data)))
    _bitwise_equal(b, data.global_batch(p.train_batch(0), by_data))
  p = data.make_pipeline(_config(data_dir), by_data)
  assert 'processes' in data.dataclasses.replace(p, process_count=2).not_resident(by_data)
  on_labels = data.dataclasses.replace(p, normalize=data.normalizer((0.5,), (0.5,), key='label'))
  assert "'label', which is not a uint8" in on_labels.not_resident(by_data)
  small = data.RESIDENT_MAX_BYTES
  try:
    data.RESIDENT_MAX_BYTES = 1000
    assert 'MiB, over' in p.not_resident(by_data)
  finally:
    data.RESIDENT_MAX_BYTES = small
