"""Input pipeline: a TFDS data source, read through grain, as sharded global batches.

TPU path: `tfds.data_source(name, data_dir='gs://...')` over ArrayRecord files, no TensorFlow.
Offline path: the same call over a data set that nnzoo builds locally (train/datasets/).

Determinism: the training stream is a grain `MapDataset` (seeded shuffle, reshuffled every epoch,
repeated), sliced so that each process reads only its share, and batched. It is random access:
the batch of step `s` is `stream[s]`, so the iterator's position is the step itself and a resumed
run sees exactly the data an uninterrupted one would.
"""

import concurrent.futures
import dataclasses
import math
import os
from typing import Callable, Iterator

import grain
import jax
import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from train import datasets
from train.errors import UserError

# tfds.testing.mock_data swaps this method out; then no files are needed (tests only).
_REAL_AS_DATA_SOURCE = tfds.core.DatasetBuilder.as_data_source


def _tfds_is_mocked() -> bool:
  return tfds.core.DatasetBuilder.as_data_source is not _REAL_AS_DATA_SOURCE


def resolve_data_dir(data_config) -> str:
  if data_config.data_dir:
    return data_config.data_dir
  if datasets.is_local(data_config.name):
    return datasets.default_data_dir()
  return os.environ.get('TFDS_DATA_DIR') or os.path.expanduser('~/tensorflow_datasets')


def open_source(data_config, split: str):
  """Returns the random-access TFDS data source of one split, never touching the network."""
  name, data_dir = data_config.name, resolve_data_dir(data_config)
  if datasets.is_local(name):
    datasets.ensure_built(name, data_dir)
  elif not _tfds_is_mocked():
    base = epath.Path(data_dir) / name.split('/')[0].split(':')[0]
    if not base.exists():
      raise UserError(
          f'data set {name!r} not found in {data_dir}: build it where there is internet with '
          f'`tfds build {name} --data_dir {data_dir} --file_format array_record` (or copy it there), '
          f'or point --config.data.data_dir at a directory or gs:// bucket that holds it. '
          f'Offline data sets: {", ".join(sorted(datasets.LOCAL_BUILDERS))}')
  try:
    return tfds.data_source(name, split=split, data_dir=data_dir, download=False, try_gcs=False)
  except (ValueError, KeyError, FileNotFoundError) as e:
    raise UserError(f'cannot read split {split!r} of data set {name!r} in {data_dir}: '
                    f'{str(e).splitlines()[0]}') from None


class ArraySource:
  """A whole split decoded into host memory: the same random access, no per-read decoding."""

  def __init__(self, source, chunk: int = 4096):
    parts = []
    for start in range(0, len(source), chunk):
      idx = list(range(start, min(start + chunk, len(source))))
      rows = source.__getitems__(idx) if hasattr(source, '__getitems__') else [source[i] for i in idx]
      parts.append(stack(rows))
    self.arrays = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    self._len = len(source)

  def __len__(self):
    return self._len

  def __getitem__(self, i):
    return {k: v[i] for k, v in self.arrays.items()}


def stack(rows: list[dict]) -> dict:
  return {k: np.stack([np.asarray(r[k]) for r in rows]) for k in rows[0]}


def scale_images(batch: dict) -> dict:
  """uint8 images (TFDS Image features) -> float32 in [0, 1]; everything else unchanged."""
  return {k: (v.astype(np.float32) / 255.0 if v.dtype == np.uint8 else v) for k, v in batch.items()}


@dataclasses.dataclass
class Pipeline:
  """What the loop needs of the data: the train stream by step, and the eval batches."""
  train_source: object
  eval_source: object
  global_batch: int
  global_eval_batch: int
  shuffle_seed: int
  process_index: int
  process_count: int
  transform: Callable[[dict], dict] = scale_images

  def __post_init__(self):
    local = self.global_batch // self.process_count
    stream = grain.MapDataset.source(self.train_source).seed(self.shuffle_seed).shuffle().repeat()
    stream = stream[self.process_index::self.process_count]   # this process's share only
    self._train = stream.batch(local, drop_remainder=True)

  @property
  def num_train(self) -> int:
    return len(self.train_source)

  @property
  def num_eval(self) -> int:
    return len(self.eval_source)

  def train_batch(self, step: int) -> dict:
    """This process's part of the global batch that step `step` trains on."""
    return self.transform(self._train[step])

  def eval_batches(self) -> Iterator[dict]:
    """This process's part of each eval batch; the last is padded, with `mask` 0 on padding."""
    n, g = len(self.eval_source), self.global_eval_batch
    local = g // self.process_count
    for b in range(math.ceil(n / g)):
      start = b * g + self.process_index * local
      idx = np.arange(start, start + local)
      mask = (idx < n).astype(np.float32)
      rows = [self.eval_source[int(i)] for i in np.where(idx < n, idx, 0)]
      batch = self.transform(stack(rows))
      batch['mask'] = mask
      yield batch


def make_pipeline(config) -> Pipeline:
  d = config.data
  pc, pi = jax.process_count(), jax.process_index()
  eval_batch = d.eval_batch_size or d.batch_size
  for key, value in (('batch_size', d.batch_size), ('eval_batch_size', eval_batch)):
    if value % jax.device_count():
      raise UserError(f'config.data.{key}={value} is not divisible by the {jax.device_count()} '
                      f'devices; use a multiple of {jax.device_count()}')
  train, test = open_source(d, d.train_split), open_source(d, d.eval_split)
  if d.cache:
    train, test = ArraySource(train), ArraySource(test)
  if len(train) < d.batch_size:
    raise UserError(f'split {d.train_split!r} of {d.name!r} has {len(train)} examples, fewer than '
                    f'config.data.batch_size={d.batch_size}')
  seed = config.seed if d.shuffle_seed < 0 else d.shuffle_seed
  return Pipeline(train, test, d.batch_size, eval_batch, seed, pi, pc)


def global_batch(local: dict, sharding) -> dict:
  """Assembles the global, sharded batch from each process's local part."""
  return {k: jax.make_array_from_process_local_data(sharding, v) for k, v in local.items()}


class Prefetcher:
  """Prepares the batches of the next steps on a host thread while the device computes."""

  def __init__(self, make: Callable[[int], dict], start: int, stop: int, depth: int):
    self._make, self._next, self._stop = make, start, stop
    self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    self._queue = []
    for _ in range(max(depth, 1)):
      self._submit()

  def _submit(self):
    if self._next < self._stop:
      self._queue.append(self._pool.submit(self._make, self._next))
      self._next += 1

  def __iter__(self):
    return self

  def __next__(self):
    if not self._queue:
      raise StopIteration
    batch = self._queue.pop(0).result()
    self._submit()
    return batch

  def close(self):
    for f in self._queue:
      f.cancel()
    self._pool.shutdown(wait=True)
