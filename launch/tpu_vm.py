"""Cloud TPU VMs: create, bootstrap, run a config on every worker, fetch logs, delete.

  python -m launch.tpu_vm --name nnzoo-1 --zone us-west4-a --accelerator v5litepod-8 \\
      up --spot -- --config experiments/zoo/cnn_digits.py:full --workdir gs://BUCKET/runs/cnn

Subcommands: create [--queued] [--spot], bootstrap, doctor [--workdir W], run -- TRAIN ARGS, logs,
delete, and `up`, which does create, bootstrap, doctor and run, and when the TPU is preempted during
the run deletes it, creates it again and reruns (the run resumes from the checkpoints in its gs://
workdir), up to --retries times; then deletes it unless --keep.

It wraps `gcloud compute tpus tpu-vm ...` and `gcloud compute tpus queued-resources ...`, so it
acts as whatever account gcloud is logged in as and holds no credentials of its own. `--dry-run`
prints every command it would run, one per line, and runs nothing (it only reads the commit of
this checkout with git unless --commit is given).

Bootstrap copies this repository at the launching commit (`git archive`, so uncommitted changes do
not travel) to every worker and runs its launch/bootstrap.sh there: it gets a Python that satisfies
pyproject's requires-python (a uv-managed one where the image's python3 is older), makes
~/nnzoo-venv and `pip install -e .[tpu]`s it, and reuses that venv when the commit and pyproject
are the same as last time (--wheels gs://...: install from wheels kept in the bucket). `doctor` runs
launch/doctor.py on every worker: versions, devices, hosts, whether the workdir is writable. `run`
starts `python -m train --distributed ...` on --worker=all (jax.distributed finds the other hosts
itself on a TPU VM), streams the output here and saves it under --log_dir.
"""

import argparse
import datetime
import os
import re
import shlex
import subprocess
import sys
import time
import tomllib

HELP = __doc__
REMOTE_DIR = '~/nnzoo'
REMOTE_VENV = '~/nnzoo-venv'
REMOTE_LOG = '~/nnzoo-run.log'
PREEMPTED_STATES = ('PREEMPTED', 'TERMINATED', 'SUSPENDED', 'SUSPENDING', 'FAILED', 'GONE')
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOTSTRAP_SCRIPT = os.path.join(REPO, 'launch', 'bootstrap.sh')
# The TPU software version (runtime image) each TPU generation runs JAX on, by accelerator type
# prefix: Ubuntu (22.04) images whose python3 has been 3.10, older than nnzoo's requires-python, so
# bootstrap.sh brings its own Python (launch/README.md).
RUNTIMES = (('v2-', 'tpu-ubuntu2204-base'), ('v3-', 'tpu-ubuntu2204-base'),
            ('v4-', 'tpu-ubuntu2204-base'), ('v5litepod-', 'v2-alpha-tpuv5-lite'),
            ('v5e-', 'v2-alpha-tpuv5-lite'), ('v5p-', 'v2-alpha-tpuv5'),
            ('v6e-', 'v2-alpha-tpuv6e'))


def requires_python() -> str:
  with open(os.path.join(REPO, 'pyproject.toml'), 'rb') as f:
    return tomllib.load(f)['project']['requires-python']


def runtime_for(accelerator: str) -> str:
  for prefix, version in RUNTIMES:
    if accelerator.startswith(prefix):
      return version
  raise SystemExit(f'launch.tpu_vm: no known runtime version for --accelerator {accelerator}: '
                   'give --version')


class Shell:
  """Runs commands, or only prints them (dry run). Every command goes through `run`."""

  def __init__(self, dry_run: bool, out=None):
    self.dry_run = dry_run
    self.out = out or sys.stdout

  def run(self, cmd: list[str], *, check: bool = True, capture: bool = False,
          log_path: str = '') -> tuple[int, str]:
    """Returns (exit code, captured stdout). log_path: stream the output here and to stdout."""
    print(('' if self.dry_run else '+ ') + shlex.join(cmd), file=self.out, flush=True)
    if self.dry_run:
      return 0, ''
    if capture:
      p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
      code, text = p.returncode, p.stdout
    elif log_path:
      with open(log_path, 'ab') as log:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for line in p.stdout:
          log.write(line)
          log.flush()
          sys.stdout.buffer.write(line)
          sys.stdout.flush()
        code, text = p.wait(), ''
    else:
      code, text = subprocess.run(cmd).returncode, ''
    if check and code:
      raise SystemExit(f'launch.tpu_vm: command failed with exit code {code}: {shlex.join(cmd)}')
    return code, text

  def note(self, text: str):
    """A comment line in a dry run's output (it stays a valid shell script); nothing otherwise."""
    if self.dry_run:
      print(f'# {text}'.rstrip(), file=self.out, flush=True)


class TpuVm:
  """One TPU VM (or queued resource of one node) and the gcloud commands that act on it."""

  def __init__(self, args, shell: Shell):
    self.args, self.shell = args, shell

  def _where(self) -> list[str]:
    flags = [f'--zone={self.args.zone}']
    if self.args.project:
      flags.append(f'--project={self.args.project}')
    return flags

  def _tpu(self, *words) -> list[str]:
    return ['gcloud', 'compute', 'tpus', 'tpu-vm', *words]

  def _queued(self, *words) -> list[str]:
    return ['gcloud', 'compute', 'tpus', 'queued-resources', *words]

  def ssh(self, command: str, **kwargs):
    return self.shell.run(self._tpu('ssh', self.args.name, *self._where(), '--worker=all',
                                    f'--command={command}'), **kwargs)

  # --- create / delete -----------------------------------------------------------------------
  def create(self, queued: bool, spot: bool):
    a = self.args
    if queued:
      cmd = self._queued('create', a.name, f'--node-id={a.name}', *self._where(),
                         f'--accelerator-type={a.accelerator}', f'--runtime-version={a.version}')
      if spot:
        cmd.append('--spot')
      self.shell.run(cmd)
      self.wait_active()
    else:
      cmd = self._tpu('create', a.name, *self._where(), f'--accelerator-type={a.accelerator}',
                      f'--version={a.version}')
      if spot:
        cmd.append('--spot')
      self.shell.run(cmd)

  def wait_active(self, poll_s: float = 30.0):
    """A queued resource is granted when capacity frees up: wait for ACTIVE (or give up)."""
    cmd = self._queued('describe', self.args.name, *self._where(), '--format=value(state.state)')
    deadline = time.monotonic() + self.args.queue_timeout
    while True:
      _, state = self.shell.run(cmd, capture=True)
      state = state.strip()
      if self.shell.dry_run or state == 'ACTIVE':
        return
      if state in ('FAILED', 'SUSPENDED') or time.monotonic() > deadline:
        raise SystemExit(f'launch.tpu_vm: queued resource {self.args.name} is {state or "gone"}')
      time.sleep(poll_s)

  def delete(self, queued: bool):
    if queued:
      self.shell.run(self._queued('delete', self.args.name, *self._where(), '--force', '--quiet'),
                     check=False)
    else:
      self.shell.run(self._tpu('delete', self.args.name, *self._where(), '--quiet'), check=False)

  def state(self) -> str:
    code, out = self.shell.run(self._tpu('describe', self.args.name, *self._where(),
                                         '--format=value(state)'), check=False, capture=True)
    return out.strip() if code == 0 else 'GONE'

  # --- bootstrap -------------------------------------------------------------------------------
  def bootstrap(self, commit: str):
    """Ships the commit and runs its launch/bootstrap.sh on every worker (taken from the archive,
    so the script is the commit's own)."""
    archive = f'/tmp/nnzoo-{commit[:12]}.tar.gz'
    name = os.path.basename(archive)
    self.shell.run(['git', 'archive', '--format=tar.gz', f'--output={archive}', commit])
    self.shell.run(self._tpu('scp', archive, f'{self.args.name}:{name}', *self._where(),
                             '--worker=all'))
    script = ['bash', 'nnzoo-bootstrap.sh', name, commit]
    if self.args.wheels:
      script += ['--wheels', self.args.wheels]
    self.ssh(f'tar -xzOf {name} launch/bootstrap.sh > nnzoo-bootstrap.sh && {shlex.join(script)}')
    self.shell.note('launch/bootstrap.sh on every worker:')
    with open(BOOTSTRAP_SCRIPT) as f:
      for line in f:
        if line.startswith('#:'):
          self.shell.note(' ' + line[2:].rstrip())
    self.shell.note(f'  requires-python in this checkout: {requires_python()}')

  # --- doctor ----------------------------------------------------------------------------------
  def doctor(self, workdir: str) -> list[str]:
    """Runs launch/doctor.py on every worker; returns one line per failing worker (none: ready)."""
    command = f'cd {REMOTE_DIR} && {REMOTE_VENV}/bin/python -m launch.doctor --distributed ' \
              '--platform tpu'
    if workdir:
      command += f' --workdir {shlex.quote(workdir)}'
    code, text = self.ssh(command, check=False, capture=True)
    if self.shell.dry_run:
      return []
    sys.stdout.write(text)
    return doctor_failures(code, text)

  # --- run and logs ----------------------------------------------------------------------------
  def run(self, train_args: list[str], log_path: str) -> int:
    command = ' '.join([
        f'cd {REMOTE_DIR} &&', 'PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2',
        f'{REMOTE_VENV}/bin/python -m train --distributed', shlex.join(train_args),
        f'2>&1 | tee -a {REMOTE_LOG}; exit ${{PIPESTATUS[0]}}'])
    code, _ = self.ssh(command, check=False, log_path=log_path)
    return code

  def logs(self, lines: int):
    self.ssh(f'tail -n {lines} {REMOTE_LOG}')


def doctor_failures(code: int, text: str) -> list[str]:
  """From the output of doctor on --worker=all: one line per failing worker, or one that says why
  the workers' reports do not add up (no report, fewer OKs than hosts, an exit code
  without FAIL)."""
  # (Not anchored at the line start: gcloud may put a worker prefix before a line.)
  reports = [m.groups() for m in re.finditer(r'doctor (\S+): (OK|FAIL: .*)$', text, re.M)]
  failures = [f'{host}: {verdict[len("FAIL: "):]}' for host, verdict in reports
              if verdict != 'OK']
  hosts = [int(n) for n in re.findall(r'doctor \S+: devices .* of (\d+) hosts$', text, re.M)]
  ok = {host for host, verdict in reports if verdict == 'OK'}
  if not failures and hosts and len(ok) < max(hosts):
    failures.append(f'only {len(ok)} of {max(hosts)} workers reported OK (see the output above)')
  if not failures and (code or not reports):
    failures.append(f'doctor exited with code {code}' + ('' if reports else ' and no report'))
  return failures


def workdir_of(train_args: list[str]) -> str:
  for i, arg in enumerate(train_args):
    if arg == '--workdir' and i + 1 < len(train_args):
      return train_args[i + 1]
    if arg.startswith('--workdir='):
      return arg.split('=', 1)[1]
  return ''


def launching_commit(args, shell: Shell) -> str:
  if args.commit:
    return args.commit
  out = subprocess.run(['git', 'rev-parse', 'HEAD'], stdout=subprocess.PIPE, text=True, check=True)
  dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'],
                         stdout=subprocess.PIPE, text=True).stdout.strip()
  if dirty:
    print('launch.tpu_vm: warning: uncommitted changes stay here; the workers get '
          f'{out.stdout.strip()[:12]}', file=sys.stderr)
  del shell
  return out.stdout.strip()


def log_path_for(args) -> str:
  directory = os.path.join(args.log_dir, args.name)
  if not args.dry_run:
    os.makedirs(directory, exist_ok=True)
  stamp = datetime.datetime.now(datetime.timezone.utc).strftime('%Y%m%dT%H%M%SZ')
  return os.path.join(directory, f'run-{stamp}.log')


def report_doctor(failures: list[str]) -> None:
  for line in failures:
    print(f'launch.tpu_vm: doctor: {line}', file=sys.stderr)


def up(args, vm: TpuVm, train_args: list[str]) -> int:
  """create -> bootstrap -> doctor -> run; on preemption: delete, create, bootstrap, doctor, run
  again. A worker that fails doctor stops it (one line per such worker), not retried."""
  commit = launching_commit(args, vm.shell)
  code = 1
  for attempt in range(args.retries + 1):
    for tries in range(args.retries + 1):   # capacity errors on create are worth a retry too
      try:
        vm.create(args.queued, args.spot)
        break
      except SystemExit as e:
        if tries == args.retries:
          raise
        print(f'{e}; retrying in {args.retry_wait:g}s', file=sys.stderr)
        vm.delete(args.queued)
        time.sleep(args.retry_wait)
    vm.bootstrap(commit)
    failures = vm.doctor(workdir_of(train_args))
    if failures and vm.state() in PREEMPTED_STATES:
      print(f'launch.tpu_vm: TPU {args.name} went away during doctor; recreating it',
            file=sys.stderr)
      vm.delete(args.queued)
      continue
    if failures:
      report_doctor(failures)
      print('launch.tpu_vm: not running' + ('' if args.keep else
            ' (--keep leaves the TPU up to look into it)'), file=sys.stderr)
      code = 1
      break
    code = vm.run(train_args, log_path_for(args))
    if code == 0:
      break
    state = vm.state()
    if state not in PREEMPTED_STATES:
      print(f'launch.tpu_vm: the run failed (exit code {code}) on a {state or "?"} TPU: not a '
            f'preemption, not retrying', file=sys.stderr)
      break
    print(f'launch.tpu_vm: TPU {args.name} is {state} (attempt {attempt + 1}); recreating it, the '
          f'run resumes from its checkpoints', file=sys.stderr)
    vm.delete(args.queued)
  if not args.keep:
    vm.delete(args.queued)
  return code


def parse(argv):
  parser = argparse.ArgumentParser(prog='python -m launch.tpu_vm', description=HELP,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--name', required=True, help='TPU VM (and queued resource) name')
  parser.add_argument('--zone', required=True)
  parser.add_argument('--project', default='', help='default: gcloud config')
  parser.add_argument('--accelerator', default='v5litepod-8', help='e.g. v5litepod-8, v4-32')
  parser.add_argument('--version', default='',
                      help='TPU software version (runtime image); default by --accelerator: '
                           + ', '.join(f'{p}*: {v}' for p, v in RUNTIMES))
  parser.add_argument('--wheels', default='',
                      help='gs://BUCKET/wheels: bootstrap installs from wheels kept there (and '
                           'puts them there the first time), for a fast recreated VM')
  parser.add_argument('--dry-run', '--dry_run', dest='dry_run', action='store_true',
                      help='print every command, run none')
  parser.add_argument('--commit', default='', help='commit to ship (default: HEAD)')
  parser.add_argument('--log_dir', default='logs/tpu_vm', help='local copies of run output')
  parser.add_argument('--queue_timeout', type=float, default=6 * 3600,
                      help='seconds to wait for a queued resource')
  sub = parser.add_subparsers(dest='action', required=True)
  for name in ('create', 'up'):
    p = sub.add_parser(name)
    p.add_argument('--queued', action='store_true', help='a queued resource (waits for capacity)')
    p.add_argument('--spot', action='store_true', help='spot (preemptible) capacity')
    if name == 'up':
      p.add_argument('--retries', type=int, default=3, help='recreate-and-rerun after preemption')
      p.add_argument('--retry_wait', type=float, default=60.0)
      p.add_argument('--keep', action='store_true', help='do not delete the TPU at the end')
      p.add_argument('train_args', nargs=argparse.REMAINDER, help='after --: python -m train args')
  sub.add_parser('bootstrap')
  p = sub.add_parser('doctor')
  p.add_argument('--workdir', default='', help='checked for writing from every worker')
  p = sub.add_parser('run')
  p.add_argument('train_args', nargs=argparse.REMAINDER, help='after --: python -m train args')
  p = sub.add_parser('logs')
  p.add_argument('--lines', type=int, default=200)
  p = sub.add_parser('delete')
  p.add_argument('--queued', action='store_true')
  args = parser.parse_args(argv)
  if args.action in ('create', 'up'):
    args.version = args.version or runtime_for(args.accelerator)
  if args.wheels and not args.wheels.startswith('gs://'):
    parser.error('--wheels takes a gs:// folder')
  train_args = getattr(args, 'train_args', None)
  if train_args is not None:
    train_args = train_args[1:] if train_args[:1] == ['--'] else train_args
    if '--config' not in train_args or not any(a == '--workdir' or a.startswith('--workdir=')
                                                for a in train_args):
      parser.error('give the train arguments after --: -- --config FILE --workdir gs://...')
    workdir = workdir_of(train_args)
    if workdir and not workdir.startswith('gs://'):
      print('launch.tpu_vm: warning: a workdir outside gs:// is not shared by the workers and does '
            'not survive a recreated TPU', file=sys.stderr)
  return args, train_args


def main(argv=None, out=None) -> int:
  args, train_args = parse(sys.argv[1:] if argv is None else argv)
  shell = Shell(args.dry_run, out)
  vm = TpuVm(args, shell)
  if args.action == 'create':
    vm.create(args.queued, args.spot)
  elif args.action == 'bootstrap':
    vm.bootstrap(launching_commit(args, shell))
  elif args.action == 'doctor':
    failures = vm.doctor(args.workdir)
    report_doctor(failures)
    return 1 if failures else 0
  elif args.action == 'run':
    return vm.run(train_args, log_path_for(args))
  elif args.action == 'logs':
    vm.logs(args.lines)
  elif args.action == 'delete':
    vm.delete(args.queued)
  elif args.action == 'up':
    return up(args, vm, train_args)
  return 0


if __name__ == '__main__':
  sys.exit(main())
