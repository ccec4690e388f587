"""Input pipeline: a TFDS data source, read through grain, as sharded global batches.

TPU path: `tfds.data_source(name, data_dir='gs://...')` over ArrayRecord files, no TensorFlow.
Offline path: the same call over a data set that nnzoo builds locally (train/datasets/).

Determinism: the order of examples is a seeded permutation per epoch (numpy, vectorized: grain's
per-index shuffle costs ~35 us an example in Python, more than an MLP step). The global batch of
step `s` is a pure function of the seed and `s`: row i holds position s*B + i of the
epoch-permuted stream, whatever the devices and processes. Each process reads the rows its devices
hold (`local_rows`: a contiguous block per process on the usual data-parallel mesh), so the
iterator's position is the step itself, and a run resumed on another number of devices or
processes sees exactly the examples, in the same rows, that an uninterrupted one would (elastic
resume). grain runs the steps' batches as a `MapDataset` over step numbers, read ahead by its
thread pool in order (`ReadOptions`).

A second stream (`config.data.val_split`, e.g. 'train[50%:]' beside train_split 'train[:50%]'):
bilevel objectives (DARTS) update some parameters on held-out data in the same step as the
others on training data. When it is set, every train batch also carries a batch of that split,
its keys prefixed 'val_' ('val_image', 'val_label'), drawn by the same rule from its own seeded
permutation, so it too is a pure function of the step and resumes exactly. Objectives that do not
ask for those keys never see a difference; with the key unset nothing changes at all.

Per batch, after the cache: scale_images (uint8 -> [0, 1]), then config.data.augment on the train
split's batch only (train/augment.py: crops, flips, rotations, each example's draws a hash of
(seed, step, its row in the global batch), so they too resume exactly and do not depend on the
process count), then config.data.mean/std on every stream, train, 'val_' and eval alike.

On the devices (config.data.device_resident, on by default): where a train batch is just its rows
scaled (and normalized), one process reads them and the decoded split fits (RESIDENT_MAX_BYTES),
the split is put on the devices once, as read (uint8), and each step's batch is made there by one
small compiled program: the host sends the step's example indices (the rule above) and nothing
else. Each uint8 value becomes float32 by a lookup in a table of 256 values per channel that the
host path's own functions computed, so the batches are the host path's bit for bit (XLA compiles
x / 255 as x * (1 / 255), which is not). Elsewhere (augmentation, a 'val_' stream, several
processes, an uncached or large split) batches come from the host as above, and the run says why.
"""

import contextlib
import dataclasses
import importlib
import logging
import math
import os
import threading
from typing import Callable, Iterator

import jax
import numpy as np
from etils import epath

from train import array_cache
from train import augment as augment_lib
from train import preprocess
from train.errors import UserError

log = logging.getLogger('nnzoo')

# TFDS registers a builder when its module is imported. The data sets of its older packages
# (translate: wmt14_translate, ...) are imported lazily, and without TensorFlow nothing asks for
# them, so their names are unknown until the package is imported.
TFDS_PACKAGES = ('audio', 'image', 'image_classification', 'object_detection',
                 'question_answering', 'structured', 'summarization', 'text', 'translate', 'video')

# tensorflow_datasets, grain and the offline builders (which import tensorflow_datasets) are
# imported where a data set is opened, not here: the compiled step (train.bench, an accelerator
# image without them) needs neither.


def _tfds_is_mocked() -> bool:
  """True inside tfds.testing.mock_data (it swaps this method out); then no files are needed."""
  import tensorflow_datasets as tfds
  return getattr(tfds.core.DatasetBuilder.as_data_source, '__name__', '') != 'as_data_source'


def resolve_data_dir(data_config) -> str:
  from train import datasets
  if data_config.data_dir:
    return data_config.data_dir
  if datasets.is_local(data_config.name):
    return datasets.default_data_dir()
  return os.environ.get('TFDS_DATA_DIR') or os.path.expanduser('~/tensorflow_datasets')


def open_source(data_config, split: str):
  """Returns the random-access TFDS data source of one split, never touching the network."""
  import tensorflow_datasets as tfds
  from train import datasets
  name, data_dir = data_config.name, resolve_data_dir(data_config)
  mocked = _tfds_is_mocked()
  if datasets.is_local(name) and not (mocked and datasets.from_files(name)):
    datasets.ensure_built(name, data_dir)   # (under mock_data, fashion_mnist reads mock records)
  elif not mocked and not datasets.is_local(name):
    base = epath.Path(data_dir) / name.split('/')[0].split(':')[0]
    if not base.exists():
      raise UserError(
          f'data set {name!r} not found in {data_dir}: build it where there is internet with '
          f'`tfds build {name} --data_dir {data_dir} --file_format array_record` '
          f'(or copy it there), '
          f'or point --config.data.data_dir at a directory or gs:// bucket that holds it. '
          f'Offline data sets: {", ".join(sorted(datasets.LOCAL_BUILDERS))}')
  if not datasets.is_local(name) or mocked:
    register_tfds_builder(name)
  try:
    return tfds.data_source(name, split=split, data_dir=data_dir, download=False, try_gcs=False)
  except (ValueError, KeyError, FileNotFoundError) as e:
    raise UserError(f'cannot read split {split!r} of data set {name!r} in {data_dir}: '
                    f'{str(e).splitlines()[0]}') from None
  except (NotImplementedError, AssertionError) as e:   # there, but not (or not fully) built as
    # ArrayRecord: e.g. a TFRecord build, or an empty directory
    why = str(e).splitlines()[0].split('. ')[0] if str(e) else type(e).__name__
    raise UserError(f'data set {name!r} in {data_dir} cannot be read by index ({why}): build '
                    f'it with `tfds build {name} --data_dir {data_dir} --file_format '
                    f'array_record`') from None


def register_tfds_builder(name: str) -> None:
  """Imports the TFDS package that defines `name` if no imported module has registered it."""
  import tensorflow_datasets as tfds
  base = name.split('/')[0].split(':')[0]
  try:
    tfds.builder_cls(base)
    return
  except Exception:  # noqa: BLE001 - not registered (yet): import the packages that may define it
    pass
  for package in TFDS_PACKAGES:
    with contextlib.suppress(Exception):
      importlib.import_module(f'tensorflow_datasets.{package}')


class Preprocessed:
  """A source whose records pass through the input steps of config.data.preprocess as they are
  read (train/preprocess.py), one example at a time, before they are stacked into a batch."""

  def __init__(self, source, step):
    self._source, self._step = source, step

  def __len__(self):
    return len(self._source)

  def __getitem__(self, i):
    return self._step(self._source[int(i)])

  def read(self, indices: np.ndarray) -> dict:
    return stack([self._step(r) for r in read_rows(self._source, indices)])


def open_split(data_config, split: str):
  """The source of one split as the model reads it: config.data.preprocess applied, if any."""
  source = open_source(data_config, split)
  if data_config.preprocess:
    source = Preprocessed(source, preprocess.compose(data_config.preprocess))
  return source


class ArraySource:
  """A whole split decoded into host memory: the same random access, no per-read decoding. A TFDS
  split decoded once is kept on local disk and read back by later runs (train/array_cache.py)."""

  def __init__(self, source, chunk: int = 4096):
    split = getattr(source, 'split', None)
    kept = (isinstance(split, str) and hasattr(source, 'dataset_info')
            and not _tfds_is_mocked())
    arrays = array_cache.load(source, split) if kept else None
    if arrays is None or any(len(v) != len(source) for v in arrays.values()):
      parts = []
      for start in range(0, len(source), chunk):
        idx = list(range(start, min(start + chunk, len(source))))
        parts.append(read(source, np.asarray(idx)))
      arrays = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
      if kept:
        array_cache.save(source, split, arrays)
    self.arrays = arrays
    self._len = len(source)

  def __len__(self):
    return self._len

  def __getitem__(self, i):
    return {k: v[i] for k, v in self.arrays.items()}

  def read(self, indices: np.ndarray) -> dict:
    return {k: v[indices] for k, v in self.arrays.items()}


def read(source, indices: np.ndarray) -> dict:
  """A batch of records by index: one vectorized gather in memory, one batched read from files."""
  if isinstance(source, (ArraySource, Subset, Preprocessed)):
    return source.read(indices)
  return stack(read_rows(source, indices))


def read_rows(source, indices: np.ndarray) -> list[dict]:
  """Records of a TFDS data source by index, as a list of feature dicts."""
  idx = [int(i) for i in indices]
  try:
    return list(source.__getitems__(idx))
  except (AttributeError, TypeError):  # sources without batched reads (and tfds' mock)
    return [source[i] for i in idx]


class Subset:
  """Some classes of a source, relabelled 0..k-1 in the order given, optionally only the first
  `per_class` examples of each (the few-label regimes of transfer learning)."""

  def __init__(self, source, label_key: str, classes=(), per_class: int = 0):
    parts = [read(source, np.arange(i, min(i + 4096, len(source))))
             for i in range(0, len(source), 4096)]
    if parts and label_key not in parts[0]:
      raise UserError(f'config.data.label_key={label_key!r} is not a feature of the data set; it '
                      f'has {", ".join(sorted(parts[0]))}')
    labels = np.concatenate([p[label_key] for p in parts]) if parts else np.zeros(0, np.int64)
    classes = list(classes) or sorted(set(labels.tolist()))
    keep = []
    for c in classes:
      idx = np.flatnonzero(labels == c)
      keep.append(idx[:per_class] if per_class else idx)
    self.indices = np.sort(np.concatenate(keep)) if keep else np.zeros(0, np.int64)
    # A class absent from this split (a small or mock split) keeps its index, with no examples;
    # labels only go up to the split's largest, so the map does too (a huge class costs nothing).
    self._map = np.full(int(labels.max()) + 1 if len(labels) else 1, -1, np.int64)
    for new, c in enumerate(classes):
      if 0 <= c < len(self._map):
        self._map[c] = new
    self._source, self._label_key = source, label_key

  def __len__(self):
    return len(self.indices)

  def _relabel(self, row):
    row = dict(row)
    row[self._label_key] = self._map[np.asarray(row[self._label_key])].astype(
        np.asarray(row[self._label_key]).dtype)
    return row

  def __getitem__(self, i):
    return self._relabel(self._source[int(self.indices[i])])

  def read(self, indices: np.ndarray) -> dict:
    return self._relabel(read(self._source, self.indices[indices]))


def stack(rows: list[dict]) -> dict:
  return {k: np.stack([np.asarray(r[k]) for r in rows]) for k in rows[0]}


def scale_images(batch: dict) -> dict:
  """uint8 images (TFDS Image features) -> float32 in [0, 1]; text features (cifar10's 'id'), which
  no device array can hold, are dropped; everything else unchanged."""
  return {k: (v.astype(np.float32) / 255.0 if v.dtype == np.uint8 else v) for k, v in batch.items()
          if v.dtype.kind not in 'OSU'}


def normalizer(mean, std, key: str = 'image') -> Callable[[dict], dict] | None:
  """(x - mean) / std per channel (config.data.mean, config.data.std) of the float images under
  `key`; None when mean is empty (off)."""
  if not len(mean):
    return None
  mean32, std32 = np.asarray(mean, np.float32), np.asarray(std, np.float32)

  def apply(batch: dict) -> dict:
    x = batch.get(key)
    if x is None or x.dtype.kind != 'f':
      has = f'{key!r} of dtype {x.dtype}' if x is not None else f'only {sorted(batch)}'
      raise UserError(f'config.data.mean/std normalize float images under {key!r}; the batch has '
                      f'{has}')
    if len(mean32) not in (1, x.shape[-1]):
      raise UserError(f'config.data.mean/std have {len(mean32)} values; the images under {key!r} '
                      f'have {x.shape[-1]} channels (shape {x.shape[1:]})')
    return {**batch, key: (x - mean32) / std32}
  apply.key = key   # the feature it changes (resident_stream)
  return apply


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
  val_source: object = None      # the second stream's split (keys prefixed VAL_PREFIX), or None
  # config.data.augment (train/augment.py): (batch, step, positions in the global batch) -> batch,
  # on the train split's batches only, after `transform`; None = off.
  augment: Callable[[dict, int, np.ndarray], dict] | None = None
  # config.data.mean/std: batch -> batch on every stream (train, val_, eval), last; None = off.
  normalize: Callable[[dict], dict] | None = None
  label_names: tuple = ()        # class names of config.data.label_key, for plots ('' unknown)
  # config.data.device_resident: keep the train split on the devices when it can be (train_stream)
  device_resident: bool = False
  # Rows of the global train / eval batch this process reads (`local_rows` of the batch
  # sharding); None: the process_index-th of process_count contiguous blocks.
  rows: np.ndarray | None = None
  eval_rows: np.ndarray | None = None

  def __post_init__(self):
    self._perm_cache = {}
    # Batches are prepared on prefetch threads; with a tiny train set (few labels per class) one
    # step spans several epochs, and unguarded threads evicted each other's orders (KeyError).
    self._perm_lock = threading.Lock()

  @property
  def num_train(self) -> int:
    return len(self.train_source)

  @property
  def num_eval(self) -> int:
    return len(self.eval_source)

  def _epoch_order(self, epoch: int, stream: int = 0) -> np.ndarray:
    """Stream 0 is the train split, stream 1 the val split (its own permutations)."""
    key = (stream, epoch)
    with self._perm_lock:
      order = self._perm_cache.get(key)
      if order is None:
        if len(self._perm_cache) > 4:
          self._perm_cache.pop(min(self._perm_cache, key=lambda k: k[1]))
        seed = [self.shuffle_seed, epoch] + ([stream] if stream else [])
        n = len(self.train_source if stream == 0 else self.val_source)
        order = self._perm_cache[key] = np.random.default_rng(seed).permutation(n)
      return order

  def _rows(self, rows, size: int) -> np.ndarray:
    if rows is not None:
      return np.asarray(rows)
    local = size // self.process_count
    return np.arange(self.process_index * local, (self.process_index + 1) * local)

  @property
  def train_rows(self) -> np.ndarray:
    """The rows of every step's global batch that this process reads, ascending."""
    return self._rows(self.rows, self.global_batch)

  def train_indices(self, step: int, stream: int = 0) -> np.ndarray:
    """Example indices of this process's share of step `step`'s global batch: row i of the global
    batch is position step * B + i of the epoch-permuted stream, on any number of processes."""
    n = len(self.train_source if stream == 0 else self.val_source)
    pos = step * self.global_batch + self.train_rows
    if pos[0] // n == pos[-1] // n:   # rows ascending: all in one epoch, the usual case
      return self._epoch_order(int(pos[0] // n), stream)[pos % n]
    epochs = pos // n
    out = np.empty_like(pos)
    for e in np.unique(epochs):
      sel = epochs == e
      out[sel] = self._epoch_order(int(e), stream)[pos[sel] % n]
    return out

  def train_batch(self, step: int) -> dict:
    """This process's part of the global batch that step `step` trains on (with the val
    stream's batch under VAL_PREFIX keys when there is one)."""
    batch = self.transform(read(self.train_source, self.train_indices(step)))
    if self.augment is not None:   # each example's draws follow its row in the global batch
      batch = self.augment(batch, step, self.train_rows)
    batch = self._normalize(batch)
    if self.val_source is not None:
      val = self.transform(read(self.val_source, self.train_indices(step, stream=1)))
      val = self._normalize(val)
      batch.update({VAL_PREFIX + k: v for k, v in val.items()})
    return batch

  def _normalize(self, batch: dict) -> dict:
    return batch if self.normalize is None else self.normalize(batch)

  def train_stream(self, start: int, stop: int, sharding, threads: int = 2) -> Iterator[dict]:
    """Global batches of steps start..stop-1, in order: made on the devices from the train split
    kept there (resident_stream), or else prepared ahead from host memory (host_stream)."""
    kept = self.resident_split(sharding) if self.device_resident else None
    if kept is None:
      return host_stream(self, start, stop, sharding, threads)
    return resident_stream(self, *kept, start, stop, sharding)

  def not_resident(self, sharding) -> str | None:
    """Why the train split cannot be kept on the devices, or None. It is kept where a batch is
    its rows, then scale_images and config.data.mean/std, which act on each uint8 value by its
    channel: one process, no augmentation (drawn on the host per batch), no second stream, the
    split decoded into host memory (config.data.cache), and its copies on the local devices
    within RESIDENT_MAX_BYTES and a quarter of their memory."""
    if self.process_count > 1:
      return 'several processes read their own rows'
    if self.augment is not None:
      return 'config.data.augment is drawn on the host'
    if self.val_source is not None:
      return 'config.data.val_split is set'
    if not in_memory(self.train_source):
      return 'the split is not in host memory (config.data.cache=False)'
    row = _numeric(read(self.train_source, np.arange(1)))
    key = getattr(self.normalize, 'key', None)
    if self.transform is not scale_images:
      return 'its batches are transformed by a function of their own'
    if self.normalize is not None and (key not in row or row[key].dtype != np.uint8):
      return f'config.data.mean/std apply to {key!r}, which is not a uint8 feature'
    devices = sharding.mesh.local_devices
    need = len(devices) * sum(v.nbytes * self.num_train + 256 * 4 * v.shape[-1]
                              for v in row.values())
    limit = min(RESIDENT_MAX_BYTES, _memory_of(devices) // 4 or RESIDENT_MAX_BYTES)
    if need > limit:
      return f'its copies would take {need / 2 ** 20:.0f} MiB, over {limit / 2 ** 20:.0f}'
    return None

  def resident_split(self, sharding) -> tuple[dict, dict] | None:
    """The whole train split as read (uint8 images) and its value tables (value_tables), on every
    device of `sharding`'s mesh; None when `not_resident` says why not."""
    why = self.not_resident(sharding)
    if why:
      log.info('train batches come from the host: %s', why)
      return None
    source = self.train_source
    arrays = _numeric(source.arrays if isinstance(source, ArraySource)   # no copy on the host
                      else read(source, np.arange(self.num_train)))
    replicated = jax.sharding.NamedSharding(sharding.mesh, jax.sharding.PartitionSpec())
    return jax.device_put((arrays, self.value_tables(arrays)), replicated)

  def value_tables(self, arrays: dict) -> dict:
    """For each uint8 feature, what the host path makes of each value in each channel (its last
    axis): [256, channels] float32, row v, column c = scale_images then normalize of value v in
    channel c, computed by those same functions. A lookup in it gives the host path's numbers
    bitwise, where the same arithmetic compiled by XLA does not (a division by a constant
    becomes a multiplication by its reciprocal)."""
    probe = {}
    for k, v in arrays.items():
      if v.dtype == np.uint8:
        channels = v.shape[-1] if v.ndim > 1 else 1
        values = np.repeat(np.arange(256, dtype=np.uint8)[:, None], channels, axis=1)
        probe[k] = values.reshape((256,) + (1,) * max(v.ndim - 2, 0) + (channels,))
    out = self._normalize(self.transform(probe))
    return {k: np.asarray(out[k]).reshape(256, -1) for k in probe}

  @staticmethod
  def device_batch(split: dict, tables: dict, indices) -> dict:
    """The batch of these example indices, on the devices (traced): the split's rows, each uint8
    value looked up in its channel's column of the value tables."""
    batch = {k: v[indices] for k, v in split.items()}
    for k, table in tables.items():
      x = batch[k].astype(np.int32)
      if table.shape[1] == 1:
        batch[k] = table[:, 0][x]
      else:
        batch[k] = table[x, np.arange(table.shape[1])]
    return batch

  def eval_batches(self) -> Iterator[dict]:
    """This process's part of each eval batch; the last is padded, with `mask` 0 on padding."""
    n, g = len(self.eval_source), self.global_eval_batch
    rows = self._rows(self.eval_rows, g)
    for b in range(math.ceil(n / g)):
      idx = b * g + rows
      mask = (idx < n).astype(np.float32)
      batch = self._normalize(self.transform(read(self.eval_source, np.where(idx < n, idx, 0))))
      batch['mask'] = mask
      yield batch


# The train split kept on the devices (config.data.device_resident) takes at most this much memory
# over all of a process's devices (each holds a copy): Fashion-MNIST's 60,000 images are 47 MB.
RESIDENT_MAX_BYTES = 2 << 30


def host_stream(pipeline, start: int, stop: int, sharding, threads: int = 2) -> Iterator[dict]:
  """Global batches of steps start..stop-1 read from host memory or files, scaled and augmented
  there, prepared ahead on grain's read threads, in order."""
  import grain
  steps = grain.MapDataset.range(start, stop).map(
      lambda s: global_batch(pipeline.train_batch(int(s)), sharding))
  return iter(steps.to_iter_dataset(grain.ReadOptions(
      num_threads=max(threads, 1), prefetch_buffer_size=max(threads, 1) * 2)))


def resident_stream(pipeline, split: dict, tables: dict, start: int, stop: int,
                    sharding) -> Iterator[dict]:
  """Global batches of steps start..stop-1 made on the devices from the split kept there: the host
  sends each step's example indices (train_indices, the host path's rule) and nothing else, and
  each device makes the rows it holds. The host path's batches, bitwise (tests/test_data.py),
  without its per-step copies and conversions."""
  make = jax.jit(Pipeline.device_batch, out_shardings=sharding)
  for step in range(start, stop):
    yield make(split, tables, pipeline.train_indices(step).astype(np.int32))


def in_memory(source) -> bool:
  """The source's examples are arrays in host memory (a cached split, or some classes of one)."""
  return isinstance(source, ArraySource) or (isinstance(source, Subset)
                                             and in_memory(source._source))  # noqa: SLF001


def _numeric(arrays: dict) -> dict:
  """The features a device can hold (scale_images drops text ones)."""
  return {k: v for k, v in arrays.items() if v.dtype.kind not in 'OSU'}


def _memory_of(devices) -> int:
  """Bytes these devices can hold together (their limits; the host's available memory for CPU
  devices, which share it), 0 if unknown."""
  try:
    limit = (devices[0].memory_stats() or {}).get('bytes_limit', 0)
  except Exception:  # noqa: BLE001 - backends without memory statistics
    limit = 0
  if limit:
    return int(limit) * len(devices)
  return host_memory_bytes() if devices[0].platform == 'cpu' else 0


VAL_PREFIX = 'val_'


def make_pipeline(config, sharding=None) -> Pipeline:
  """The run's data. `sharding`: the batch sharding that the global batches get (this process
  reads the rows its devices hold); None: the contiguous block of a data-parallel mesh."""
  d = config.data
  pc, pi = jax.process_count(), jax.process_index()
  eval_batch = d.eval_batch_size or d.batch_size
  for key, value in (('batch_size', d.batch_size), ('eval_batch_size', eval_batch)):
    if value % jax.device_count():
      raise UserError(f'config.data.{key}={value} is not divisible by the {jax.device_count()} '
                      f'devices; use a multiple of {jax.device_count()}')
  # Input steps (text -> tokens, images -> crops) come before the cache, which then holds arrays.
  train, test = open_split(d, d.train_split), open_split(d, d.eval_split)
  names = label_names(test, d.label_key, d.classes)
  if d.cache:
    train, test = ArraySource(train), ArraySource(test)
  if d.classes or d.per_class:
    train = Subset(train, d.label_key, d.classes, d.per_class)
    test = Subset(test, d.label_key, d.classes)
  if not len(train):
    raise UserError(f'split {d.train_split!r} of {d.name!r} has no examples'
                    + (f' of classes {tuple(d.classes)}' if d.classes else ''))
  if not len(test):
    raise UserError(f'split {d.eval_split!r} of {d.name!r} has no examples'
                    + (f' of classes {tuple(d.classes)}' if d.classes else ''))
  _check_batch_fits('batch_size', d.batch_size, train, pc)
  _check_batch_fits('eval_batch_size', eval_batch, test, pc)
  seed = config.seed if d.shuffle_seed < 0 else d.shuffle_seed
  rows = eval_rows = None
  if sharding is not None:
    rows, eval_rows = local_rows(sharding, d.batch_size), local_rows(sharding, eval_batch)
  return Pipeline(train, test, d.batch_size, eval_batch, seed, pi, pc, val_source=_val_source(d),
                  augment=augment_lib.compose(d.augment, seed),
                  normalize=normalizer(d.mean, d.std), label_names=names, rows=rows,
                  eval_rows=eval_rows, device_resident=d.device_resident)


def local_rows(sharding, size: int) -> np.ndarray:
  """The rows of a global batch of `size` examples that this process's devices hold, ascending:
  the order in which `jax.make_array_from_process_local_data` places a process's local rows."""
  rows = set()
  for index in sharding.addressable_devices_indices_map((size,)).values():
    rows.update(range(*index[0].indices(size)))
  return np.array(sorted(rows), np.int64)


def _check_batch_fits(key: str, batch_size: int, source, process_count: int) -> None:
  """A batch that cannot fit in this host's memory stops before it is read, naming its size (a
  typo of a few zeros would otherwise take the machine's memory or die deep in numpy)."""
  example = read(source, np.arange(1))
  per_example = sum(max(np.asarray(v).nbytes, 1) * (4 if np.asarray(v).dtype == np.uint8 else 1)
                    for v in example.values())   # uint8 images become float32
  need = per_example * (batch_size // process_count)
  have = host_memory_bytes()
  if have and need > have // 2:
    raise UserError(f'config.data.{key}={batch_size} needs {need / 2 ** 30:.3g} GiB of host memory '
                    f'per batch ({per_example} bytes an example), more than half of the '
                    f'{have / 2 ** 30:.3g} GiB here: use a smaller batch')


def host_memory_bytes() -> int:
  """Memory this process may still use: what Linux reports available (and the address-space
  limit, if one is set); 0 if unknown."""
  have = []
  try:
    with open('/proc/meminfo') as f:
      for line in f:
        if line.startswith('MemAvailable:'):
          have.append(int(line.split()[1]) * 1024)
  except (OSError, ValueError, IndexError):
    pass
  try:
    import resource
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    if limit != resource.RLIM_INFINITY:
      have.append(limit)
  except (ImportError, OSError, ValueError):
    pass
  return min(have) if have else 0


def label_names(source, label_key: str, classes=()) -> tuple:
  """The class names of a TFDS source's ClassLabel feature (in the order of config.data.classes
  when that relabels them); () when the feature has none."""
  while not hasattr(source, 'dataset_info') and hasattr(source, '_source'):
    source = source._source   # pylint: disable=protected-access
  try:
    names = list(source.dataset_info.features[label_key].names)
  except (AttributeError, KeyError, TypeError):
    return ()
  return tuple(names[c] for c in classes) if classes else tuple(names)


def _val_source(d):
  """The second stream's split (config.data.val_split), prepared as the train split is."""
  if not d.val_split:
    return None
  val = open_split(d, d.val_split)
  if d.cache:
    val = ArraySource(val)
  if d.classes or d.per_class:
    val = Subset(val, d.label_key, d.classes, d.per_class)
  if not len(val):
    raise UserError(f'split {d.val_split!r} of {d.name!r} has no examples'
                    + (f' of classes {tuple(d.classes)}' if d.classes else ''))
  return val


def global_batch(local: dict, sharding) -> dict:
  """Assembles the global, sharded batch from each process's local part."""
  return {k: jax.make_array_from_process_local_data(sharding, v) for k, v in local.items()}
