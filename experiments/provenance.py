"""Where a number came from: the commit, the machine and the time, attached to every result."""

import datetime
import fnmatch
import os
import platform
import subprocess

import jax


def _is_record(line: str) -> bool:
  """Recorded outputs (bench lines, claim JSON) do not make the code that produced them dirty."""
  path = line[3:].strip()
  return path == 'experiments/bench/results.jsonl' or fnmatch.fnmatch(path, 'experiments/*/results/*.json')


def commit() -> str:
  """Short hash of HEAD, with '+dirty' when tracked files other than records differ from it."""
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  if os.environ.get('NNZOO_COMMIT'):   # a launcher that copied a clean tree of this commit elsewhere
    return os.environ['NNZOO_COMMIT']
  try:
    head = subprocess.run(['git', 'rev-parse', '--short=10', 'HEAD'], cwd=root, capture_output=True,
                          text=True, check=True).stdout.strip()
    status = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'], cwd=root,
                            capture_output=True, text=True).stdout
    dirty = [l for l in status.splitlines() if l.strip() and not _is_record(l)]
    return head + ('+dirty' if dirty else '')
  except (OSError, subprocess.CalledProcessError):
    return 'unknown'


def cpu_name() -> str:
  try:
    with open('/proc/cpuinfo') as f:
      for line in f:
        if line.startswith('model name'):
          return line.split(':', 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or platform.machine()


def vector_isa() -> str:
  """The widest x86 vector extension of this CPU ('AVX-512', 'AVX2'), '' if neither or unknown.
  Hosts of the same model name differ here, and XLA's kernels (and so float rounding and speed)
  differ with it: a record names it."""
  try:
    with open('/proc/cpuinfo') as f:
      for line in f:
        if line.startswith('flags'):
          flags = set(line.split(':', 1)[1].split())
          return 'AVX-512' if 'avx512f' in flags else 'AVX2' if 'avx2' in flags else ''
  except OSError:
    pass
  return ''


def hardware() -> str:
  """'2-core AMD EPYC 7B13, AVX2 (cpu, 1 jax devices)' or 'NVIDIA H100 80GB HBM3 x1 (gpu)'."""
  devices = jax.devices()
  kind = devices[0].device_kind if devices[0].platform != 'cpu' else cpu_name()
  if devices[0].platform == 'cpu':
    isa = vector_isa()
    return f'{os.cpu_count()}-core {kind}{", " + isa if isa else ""} (cpu, {len(devices)} jax devices)'
  return f'{kind} x{len(devices)} ({devices[0].platform})'


def now() -> str:
  return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')


def stamp() -> dict:
  return {'commit': commit(), 'hardware': hardware(), 'date': now(),
          'jax': jax.__version__, 'python': platform.python_version()}
