"""Compiled steps kept on local disk between runs: JAX's persistent compilation cache, on by
default for `python -m train` (and whatever it runs: evaluation, pictures).

A run compiles a few dozen programs (the train and eval steps, initialization, the pictures'
forward passes): ~2.5 s of a Fashion MLP run that trains for 5.5 s. The second run of the same
config (a resumed run, another seed, a sweep's next point) reads them back instead: the Fashion
MLP's 5-epoch run 13.4 -> 10.6 s. JAX keys each entry by the program, the compile options (the
engine's XLA options included), the devices and the jax/jaxlib version, so a changed model or
flag compiles afresh; only process 0 writes; an entry that cannot be read (a run killed while
writing it) costs one warning and a compile, not the run. Compiled CPU code uses the host's
instruction set (AVX-512 here, AVX2 elsewhere), so each kind of CPU gets its own subdirectory,
named by a hash of its instruction-set flags: a home directory shared by different machines
never hands one of them another's code.

The cache is `~/.cache/nnzoo/jax_compile` (`NNZOO_COMPILE_CACHE_DIR` elsewhere; a
`jax_compilation_cache_dir` the user set, e.g. by JAX_COMPILATION_CACHE_DIR, is kept);
`NNZOO_COMPILE_CACHE=0` turns it off. It does not grow without bound: when a run starts with
more than MAX_BYTES there, the entries written longest ago go until half of that is left (one
that was still in use is compiled and written again). It must be set before the process's first
compilation (JAX decides once per process whether to use a cache), so the engine sets it when a
run starts. `python -m train.bench` leaves it off: its `compile_s` measures XLA's compile.
"""

import hashlib
import os
import platform
from pathlib import Path

import jax

DEFAULT_DIR = Path.home() / '.cache' / 'nnzoo' / 'jax_compile'
MAX_BYTES = 2 * 2 ** 30


def enable() -> str | None:
  """Points JAX's persistent compilation cache at our directory; returns the directory in use, or
  None when it is off or cannot be made."""
  if os.environ.get('NNZOO_COMPILE_CACHE', '1') == '0':
    return None
  current = jax.config.jax_compilation_cache_dir
  if current:
    return current
  path = Path(os.environ.get('NNZOO_COMPILE_CACHE_DIR') or DEFAULT_DIR) / host_kind()
  try:
    path.mkdir(parents=True, exist_ok=True)
  except OSError:
    return None
  trim(path)
  jax.config.update('jax_compilation_cache_dir', str(path))
  # Every program, however quick to compile: a run's small ones add up to seconds.
  jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.0)
  jax.config.update('jax_persistent_cache_min_entry_size_bytes', 0)
  return str(path)


def host_kind() -> str:
  """A short name for this machine's CPU: its architecture and a hash of its feature flags."""
  flags = ''
  try:
    with open('/proc/cpuinfo') as f:
      for line in f:
        if line.startswith(('flags', 'Features')):   # x86 / ARM
          flags = ' '.join(sorted(line.split(':', 1)[1].split()))
          break
  except OSError:
    flags = platform.processor()
  digest = hashlib.sha256(f'{platform.machine()} {flags}'.encode()).hexdigest()[:12]
  return f'{platform.machine() or "cpu"}-{digest}'


def trim(path: Path, max_bytes: int | None = None) -> int:
  """Removes the oldest files of `path` (by modification time) while it holds more than
  `max_bytes` (MAX_BYTES), down to half of it; returns how many went. (JAX's own size limit needs
  a file-lock package we do not install.)"""
  max_bytes = MAX_BYTES if max_bytes is None else max_bytes
  try:
    files = [(st.st_mtime, st.st_size, e.path) for e in os.scandir(path) if e.is_file()
             for st in (e.stat(),)]
  except OSError:
    return 0
  total, removed = sum(f[1] for f in files), 0
  if total <= max_bytes:
    return 0
  for _, size, name in sorted(files):
    if total <= max_bytes // 2:
      break
    try:
      os.remove(name)
    except OSError:
      continue
    total, removed = total - size, removed + 1
  return removed
