"""Is this host ready to run nnzoo? Python, jax / jaxlib / libtpu, devices, hosts, the workdir.

  python -m launch.doctor --workdir gs://BUCKET/runs/cnn [--distributed] [--platform tpu]

Prints one line per fact, each starting `doctor HOST:`, and last `doctor HOST: OK` or
`doctor HOST: FAIL: reason; reason`; exits 0 or 1. `python -m launch.tpu_vm ... doctor` runs it on
every worker of a TPU VM (with --distributed --platform tpu), and `up` does before every run, so a
worker whose install or TPU is broken stops the launch with one line instead of a hang or a
traceback per host. It works on a CPU machine too (libtpu: not installed).

--distributed starts jax.distributed the way `python -m train --distributed` does (on a TPU VM it
finds the other hosts itself), so the device count is the slice's and the host count is
jax.process_count(). The workdir check writes, reads back and deletes one small file through
etils.epath, the same path the engine's metrics and checkpoints take (for gs:// without
TensorFlow that needs gcsfs); a workdir that does not exist yet is created.
"""

import argparse
import importlib.metadata
import os
import re
import socket
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def version_of(distribution: str) -> str:
  try:
    return importlib.metadata.version(distribution)
  except importlib.metadata.PackageNotFoundError:
    return 'not installed'


def required_python() -> tuple[int, int] | None:
  """The '>=X.Y' of pyproject.toml's requires-python, where this runs from a checkout."""
  try:
    with open(os.path.join(ROOT, 'pyproject.toml')) as f:
      m = re.search(r'^requires-python\s*=\s*"[^"]*>=\s*(\d+)\.(\d+)', f.read(), re.M)
  except OSError:
    return None
  return (int(m.group(1)), int(m.group(2))) if m else None


def first_line(e: BaseException) -> str:
  text = str(e).strip().splitlines()
  return f'{type(e).__name__}: {text[0] if text else ""}'.rstrip(': ')


def check_workdir(workdir: str) -> str:
  """Writes, reads and deletes a probe file; returns '' or why it cannot."""
  from etils import epath
  try:
    path = epath.Path(workdir)
    path.mkdir(parents=True, exist_ok=True)
    probe = path / f'.nnzoo-doctor-{socket.gethostname()}-{os.getpid()}'
    probe.write_text('nnzoo doctor\n')
    ok = probe.read_text() == 'nnzoo doctor\n'
    probe.unlink()
    return '' if ok else 'the probe file read back differently'
  except Exception as e:   # noqa: BLE001 (any failure is the answer)
    return first_line(e)


def initialize_distributed(timeout_s: int) -> None:
  """train.distributed.initialize(), with a shorter wait for the other hosts."""
  import jax
  kwargs = {'initialization_timeout': timeout_s}
  if os.environ.get('JAX_COORDINATOR_ADDRESS'):
    kwargs.update(coordinator_address=os.environ['JAX_COORDINATOR_ADDRESS'],
                  num_processes=int(os.environ['JAX_NUM_PROCESSES']),
                  process_id=int(os.environ['JAX_PROCESS_ID']))
  jax.distributed.initialize(**kwargs)


def diagnose(workdir: str, distributed: bool, platform: str, timeout_s: int) -> tuple[list, list]:
  """Returns (facts, failures), each a list of strings."""
  facts, failures = [], []
  v = sys.version_info
  facts.append(f'python {v.major}.{v.minor}.{v.micro} ({sys.executable})')
  need = required_python()
  if need and tuple(v[:2]) < need:
    failures.append(f'python {v.major}.{v.minor} < {need[0]}.{need[1]} (requires-python)')
  facts.append(f'jax {version_of("jax")}, jaxlib {version_of("jaxlib")}, '
               f'libtpu {version_of("libtpu")}')
  try:
    import jax
    if distributed:
      initialize_distributed(timeout_s)
    devices = jax.devices()
    count, local, hosts = jax.device_count(), jax.local_device_count(), jax.process_count()
    kind = devices[0].device_kind if devices else '?'
    facts.append(f'devices {count} ({local} local, {devices[0].platform} {kind}), '
                 f'process {jax.process_index()} of {hosts} hosts')
    if platform and devices[0].platform != platform:
      failures.append(f'platform {devices[0].platform}, not {platform}')
    if count != local * hosts:
      failures.append(f'{count} devices != {local} local x {hosts} hosts')
  except Exception as e:   # noqa: BLE001 (an import, a TPU in use, a host that never came)
    failures.append(f'jax: {first_line(e)}')
  if workdir:
    why = check_workdir(workdir)
    facts.append(f'workdir {workdir}: ' + ('writable' if not why else f'NOT writable ({why})'))
    if why:
      failures.append(f'workdir {workdir} not writable: {why}')
  else:
    facts.append('workdir: not checked (no --workdir)')
  return facts, failures


def main(argv=None, out=None) -> int:
  parser = argparse.ArgumentParser(prog='python -m launch.doctor', description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--workdir', default='', help='checked for writing (gs:// or local)')
  parser.add_argument('--distributed', action='store_true',
                      help='jax.distributed.initialize() first (every host must run it)')
  parser.add_argument('--platform', default='', help='fail unless the devices are these (tpu)')
  parser.add_argument('--timeout', type=int, default=120,
                      help='seconds to wait for the other hosts (--distributed)')
  args = parser.parse_args(argv)
  out = out or sys.stdout
  facts, failures = diagnose(args.workdir, args.distributed, args.platform, args.timeout)
  host = socket.gethostname()
  for fact in facts:
    print(f'doctor {host}: {fact}', file=out)
  print(f'doctor {host}: ' + ('FAIL: ' + '; '.join(failures) if failures else 'OK'), file=out,
        flush=True)
  return 1 if failures else 0


if __name__ == '__main__':
  sys.exit(main())
