"""Where a number came from: the code (commit, and whether the tree differs from it), the machine
and the time. The engine's benchmarks print them in every line; experiments/provenance.py adds
what recording needs (a clean tree, reusing finished runs)."""

import datetime
import fnmatch
import os
import platform
import subprocess

import jax


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CODE = ('models/', 'train/', 'experiments/')   # where an untracked file is code that runs


def _is_record(path: str) -> bool:
  """Recorded outputs (bench lines, claim JSON) do not make the code that produced them dirty."""
  return (path == 'experiments/bench/results.jsonl'
          or fnmatch.fnmatch(path, 'experiments/*/results/*.json'))


def changed_files() -> list[str]:
  """Files that make the tree differ from HEAD's code: tracked files changed anywhere, and
  untracked (not ignored) files under models/, train/ and experiments/ (a new module there runs
  as much as a changed one); records excepted. Raises OSError or CalledProcessError without git."""
  status = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=all'], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout
  changed = []
  for line in status.splitlines():
    if not line.strip():
      continue
    path = line[3:].strip().split(' -> ')[-1].strip('"')
    if _is_record(path) or (line.startswith('??') and not path.startswith(CODE)):
      continue
    changed.append(path)
  return changed


def commit() -> str:
  """Short hash of HEAD, with '+dirty' when changed_files() names any."""
  # NNZOO_COMMIT: a launcher that copied a clean tree of this commit elsewhere
  if os.environ.get('NNZOO_COMMIT'):
    return os.environ['NNZOO_COMMIT']
  try:
    head = subprocess.run(['git', 'rev-parse', '--short=10', 'HEAD'], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.strip()
    return head + ('+dirty' if changed_files() else '')
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
    return (f'{os.cpu_count()}-core {kind}{", " + isa if isa else ""} '
            f'(cpu, {len(devices)} jax devices)')
  return f'{kind} x{len(devices)} ({devices[0].platform})'


def now() -> str:
  return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')


def stamp() -> dict:
  return {'commit': commit(), 'hardware': hardware(), 'date': now(),
          'jax': jax.__version__, 'python': platform.python_version()}
