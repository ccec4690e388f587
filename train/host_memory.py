"""Reuse freed host memory instead of handing it back to the OS: glibc malloc settings for a run.

XLA:CPU allocates each execution's temporaries as ONE block from the thread that runs it (113 MB
for the `lstm` bench workload). glibc serves a block that large from a fresh mmap and unmaps it on
free (per-thread arenas always do above their 64 MB heap size; the main heap does above 32 MB), so
every step faults its temporaries in again page by page and the kernel zeroes each page: about
29,000 minor page faults a step for the LSTM (strace shows one mmap/munmap pair a step), a
quarter of its step time. With every thread on the main heap (M_ARENA_MAX=1), no mmap-backed
blocks (M_MMAP_MAX=0) and no trimming of the heap's free top (M_TRIM_THRESHOLD), the next step
gets the same, already-mapped pages. The process keeps its peak host memory mapped, as a caching
allocator does.

Process-wide and effective only before other threads allocate, so the entry points
(`python -m train`, `python -m train.bench`, `python -m experiments.reproduce`) call
`retain_freed_memory()` before importing NumPy or JAX. NNZOO_SYSTEM_MALLOC=1 leaves glibc's defaults alone (to measure the difference); not glibc
(macOS, musl): nothing to do.
"""

import ctypes
import ctypes.util
import os
import sys

OPT_OUT = 'NNZOO_SYSTEM_MALLOC'
_M_TRIM_THRESHOLD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -4, -8   # glibc's <malloc.h> parameter numbers
_SETTINGS = ((_M_ARENA_MAX, 1), (_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, 2**31 - 1))

applied = False


def retain_freed_memory() -> bool:
  """Applies the settings above (once); returns whether they are in effect."""
  global applied
  if applied or os.environ.get(OPT_OUT, '') not in ('', '0') or not sys.platform.startswith('linux'):
    return applied
  try:
    mallopt = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6').mallopt
  except (OSError, AttributeError):   # a libc without mallopt (musl)
    return False
  mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
  applied = all(mallopt(param, value) == 1 for param, value in _SETTINGS)
  return applied
