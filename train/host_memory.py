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

It costs where many threads allocate small objects (one heap, one lock): the 8x8-digits CNN
experiment, whose data pipeline does, trains 10% slower with it. So it is
`config.retain_freed_memory` (on for the bench workloads), applied by the run
(`train.loop.prepare_host`) before JAX starts its devices and threads;
once JAX has started (a test process) it is left alone. NNZOO_SYSTEM_MALLOC=1 turns it off
whatever the config says (to measure the difference); not glibc (macOS, musl): nothing to do.
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
  if (applied or os.environ.get(OPT_OUT, '') not in ('', '0')
      or not sys.platform.startswith('linux')):
    return applied
  if 'jax' in sys.modules:
    from jax._src import xla_bridge   # backends_are_initialized is not public API
    if xla_bridge.backends_are_initialized():
      return False   # XLA's threads already have their own heaps; a shared process keeps its own
  try:
    mallopt = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6').mallopt
  except (OSError, AttributeError):   # a libc without mallopt (musl)
    return False
  mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
  applied = all(mallopt(param, value) == 1 for param, value in _SETTINGS)
  return applied
