"""Decoded splits kept on local disk: a run reads a split it has decoded before as arrays.

`config.data.cache` (on by default) decodes a whole split into host memory. For Fashion-MNIST that
is 70,000 PNG records through TFDS's decoders, ~6 s of every run's start on a 2-core host, more
than most of a short run's training. The first run of a split saves the decoded arrays as one
.npz file; later runs load that file (~0.1 s) instead.

The file's name is a hash of what the arrays depend on: the data set's full name (with version),
the split string, TFDS's version, and the name, size and modification time of every file in the
data set's directory, so a rebuilt or replaced data set is decoded afresh. Only data sets in a
local directory are kept (a gs:// one would cost a request per shard to fingerprint). Files are
written to a temporary name and renamed into place (a killed run leaves none half-written) and
read without pickle; splits with non-numeric features (strings) are not kept. Where:
$NNZOO_ARRAY_CACHE_DIR, or ~/.cache/nnzoo/arrays; NNZOO_ARRAY_CACHE=0 turns it off.
"""

import hashlib
import json
import logging
import os

import numpy as np
from etils import epath

log = logging.getLogger('nnzoo')

FORMAT = 1   # bump when what is stored changes


def directory() -> epath.Path | None:
  if os.environ.get('NNZOO_ARRAY_CACHE', '1') == '0':
    return None
  return epath.Path(os.environ.get('NNZOO_ARRAY_CACHE_DIR')
                    or os.path.expanduser('~/.cache/nnzoo/arrays'))


def key(source, split: str) -> str | None:
  """The cache key of a TFDS data source's split, or None where the source cannot be
  fingerprinted (not a TFDS source, no directory of files)."""
  try:
    import tensorflow_datasets as tfds
    info = source.dataset_info
    where = str(info.data_dir)
    if not os.path.isdir(where):   # gs:// and other remote stores: a stat per shard; not kept
      return None
    files = []
    for name in sorted(os.listdir(where)):
      stat = os.stat(os.path.join(where, name))
      files.append([name, stat.st_size, stat.st_mtime_ns])
    if not files:
      return None
    what = [FORMAT, info.full_name, split, where, tfds.__version__, files]
  except Exception:  # noqa: BLE001 - any source we cannot fingerprint is simply not cached
    return None
  return hashlib.sha256(json.dumps(what).encode()).hexdigest()[:24]


def load(source, split: str) -> dict | None:
  """The split's arrays from the cache, or None."""
  where, k = directory(), key(source, split)
  if where is None or k is None:
    return None
  path = where / f'{k}.npz'
  if not path.exists():
    return None
  try:
    with np.load(path, allow_pickle=False) as f:
      return {name: f[name] for name in f.files}
  except Exception as e:  # noqa: BLE001 - a damaged file is decoded afresh and replaced
    log.warning('decoded-split cache %s unreadable (%s); decoding again', path, e)
    return None


def save(source, split: str, arrays: dict) -> None:
  """Keeps the split's arrays for the next run (numeric arrays only)."""
  where, k = directory(), key(source, split)
  if where is None or k is None or any(v.dtype == object for v in arrays.values()):
    return
  try:
    where.mkdir(parents=True, exist_ok=True)
    path = where / f'{k}.npz'
    tmp = where / f'.{k}.tmp-{os.getpid()}.npz'
    with tmp.open('wb') as f:
      np.savez(f, **arrays)
    tmp.replace(path)
  except OSError as e:   # a read-only or full disk costs the next run its decode, nothing more
    log.warning('could not keep the decoded split in %s: %s', where, e)
