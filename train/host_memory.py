"""Reuse freed host memory instead of handing it back to the OS: glibc malloc settings for a run.

XLA:CPU allocates each execution's temporaries as ONE block from the thread that runs it (113 MB for
the `lstm` bench workload on one device, 63 MB for the Fashion 2-conv net's step). glibc serves a
block over 32 MB from a fresh mmap and unmaps it on free, so every step faults its temporaries in
again page by page and the kernel zeroes each page: about 29,000 minor page faults a step for the
LSTM (strace shows one mmap/munmap pair a step), a quarter of its step time. With no mmap-backed
blocks (M_MMAP_MAX=0) and no trimming of a heap's free top (M_TRIM_THRESHOLD), the next step gets
the same, already-mapped pages. A thread's heap is at most 64 MB, and a block that does not fit
beside what the thread's heap already holds gets a heap of its own, which glibc deletes (unmaps)
as soon as it is empty again, so such a step still faulted its temporaries in afresh, in some
processes and not in others of the same command. A top pad of a heap's size (M_TOP_PAD) makes
glibc keep an empty heap, and the next step finds it (README, levers: whole runs at 6f527d3 ->
65205a7, e.g. experiments/fashion/lstm.py 44.8 steps/s at 803k faults in one run of three ->
56.2-60.3 at 130-138k in all three). The process keeps its peak host memory mapped, as a
caching allocator does; the pad itself is address space, not memory (pages are backed once
touched). This is every run's default (`config.retain_freed_memory`).

`config.host_one_heap` also puts every thread on the main heap (M_ARENA_MAX=1). Per-thread heaps
are at most 64 MB, so a step whose temporaries are larger gains from it (the transformer and
capsnet bench workloads, 10-12%), but one heap is one lock, and small models, whose threads
allocate many small objects, lose as much (the Fashion MLP and the 8x8-digits CNN ~10%).

Both are applied by the run (`train.loop.prepare_host`) before JAX starts its devices and threads;
once JAX has started (a test process) they are left alone. NNZOO_SYSTEM_MALLOC=1 turns them off
whatever the config says (to measure the difference); not glibc (macOS, musl): nothing to do.
"""

import ctypes
import ctypes.util
import os
import sys

OPT_OUT = 'NNZOO_SYSTEM_MALLOC'
# glibc's <malloc.h> parameter numbers
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -2, -4, -8
THREAD_HEAP_BYTES = 64 << 20   # glibc's largest heap for a thread other than the main one
_KEEP = ((_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, 2**31 - 1), (_M_TOP_PAD, THREAD_HEAP_BYTES))
_ONE_HEAP = ((_M_ARENA_MAX, 1),)

applied = False
one_heap = False


def retain_freed_memory(one_heap_too: bool = False) -> bool:
  """Applies the settings above (once; `one_heap_too`: M_ARENA_MAX=1 as well); returns whether
  they are in effect."""
  global applied, one_heap
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
  settings = _KEEP + (_ONE_HEAP if one_heap_too else ())
  applied = all(mallopt(param, value) == 1 for param, value in settings)
  one_heap = applied and one_heap_too
  return applied


def one_heap_hint(temp_bytes: int, platform: str, kept: bool, one: bool) -> str | None:
  """What to tell a CPU run whose step's temporaries (per device) are more than a thread's heap
  holds while freed memory is kept per thread (`kept`, not `one`): glibc maps such a block afresh
  every step, and config.host_one_heap would keep it. None otherwise. The engine cannot make
  the choice itself: it is known once the step has compiled, after JAX started its threads."""
  if platform != 'cpu' or not kept or one or temp_bytes <= THREAD_HEAP_BYTES:
    return None
  return (f"the train step's temporaries take {temp_bytes / 2 ** 20:.0f} MB a device, more than "
          f"a thread's heap holds ({THREAD_HEAP_BYTES >> 20} MB), so they are mapped afresh every "
          f"step: --config.host_one_heap=True may make its steps faster (the bench transformer "
          f"and capsnet: ~10%; README, levers)")
