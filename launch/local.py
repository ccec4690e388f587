"""N processes of one multi-host run on this machine, talking over 127.0.0.1.

  python -m launch.local --num_processes 2 --devices_per_process 4 -- \\
      python -m train --config experiments/zoo/cnn_digits.py:tiny --workdir runs/mp

Each rank gets JAX_COORDINATOR_ADDRESS (a free port on 127.0.0.1), JAX_NUM_PROCESSES and
JAX_PROCESS_ID, and K fake CPU devices (XLA_FLAGS); `python -m train` gets `--distributed`. This is
the multi-host path of a TPU pod or a GPU cluster, run on one CPU machine: it is how the engine's
multi-process code is tested without one.

Rank 0's output is streamed here; every rank's output goes to LOG_DIR/rank<i>.log (default
WORKDIR/logs). If a rank dies, the others are given --grace seconds to exit on their own (a run
whose peer is gone must not hang), then killed; the launcher names the rank that died first and
exits non-zero. SIGTERM/SIGINT to the launcher are forwarded to every rank (they checkpoint and
stop together, as on preemption).
"""

import argparse
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from train import errors

HELP = __doc__


def parse(argv):
  parser = errors.ArgumentParser(prog='python -m launch.local', description=HELP,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--num_processes', type=int, default=2)
  parser.add_argument('--devices_per_process', type=int, default=4,
                      help='fake CPU devices per process (XLA_FLAGS); 0 leaves the platform alone '
                           '(e.g. one GPU host whose GPUs the ranks split via '
                           'JAX_LOCAL_DEVICE_IDS)')
  parser.add_argument('--log_dir', default='',
                      help='where rank<i>.log go (default: WORKDIR/logs of the command, else a '
                           'new temporary directory)')
  parser.add_argument('--grace', type=float, default=30.0,
                      help='seconds the other ranks get to exit on their own after one died')
  parser.add_argument('--stop_timeout', type=float, default=300.0,
                      help='seconds the ranks get to checkpoint and exit after a forwarded '
                           'SIGTERM/SIGINT before they are killed')
  parser.add_argument('--heartbeat_timeout', type=int, default=20,
                      help='seconds without heartbeats after which JAX declares a rank dead and '
                           'aborts the others (NNZOO_HEARTBEAT_TIMEOUT_SECONDS)')
  parser.add_argument('--port', type=int, default=0, help='coordinator port (0: pick a free one)')
  parser.add_argument('command', nargs=argparse.REMAINDER,
                      help='after --: the command every rank runs')
  args = parser.parse_args(argv)
  command = args.command[1:] if args.command[:1] == ['--'] else args.command
  if not command:
    parser.error('give the command to run after --, e.g. -- python -m train --config ...')
  if args.num_processes < 1:
    parser.error('--num_processes must be >= 1')
  if not shutil.which(command[0]):
    parser.error(f'no program {command[0]!r} to run (not a file, nor on PATH)')
  return args, command


def with_distributed(command: list[str]) -> list[str]:
  """`python -m train ...` needs --distributed to call jax.distributed.initialize()."""
  is_train = any(a == '-m' and b == 'train' for a, b in zip(command, command[1:]))
  if is_train and '--distributed' not in command:
    return command + ['--distributed']
  return command


def workdir_of(command: list[str]) -> str:
  for i, a in enumerate(command):
    if a == '--workdir' and i + 1 < len(command):
      return command[i + 1]
    if a.startswith('--workdir='):
      return a.split('=', 1)[1]
  return ''


def rank_env(rank: int, num: int, address: str, devices: int, heartbeat_timeout: int = 20,
             base=None) -> dict:
  env = dict(os.environ if base is None else base)
  env.update(JAX_COORDINATOR_ADDRESS=address, JAX_NUM_PROCESSES=str(num),
             JAX_PROCESS_ID=str(rank), NNZOO_HEARTBEAT_TIMEOUT_SECONDS=str(heartbeat_timeout),
             PYTHONUNBUFFERED='1')
  if devices:
    flags = [f for f in env.get('XLA_FLAGS', '').split()
             if not f.startswith('--xla_force_host_platform_device_count')]
    env['XLA_FLAGS'] = ' '.join(flags + [f'--xla_force_host_platform_device_count={devices}'])
    env['JAX_PLATFORMS'] = 'cpu'
  return env


def describe_exit(code: int) -> str:
  if code < 0:
    try:
      return f'killed by {signal.Signals(-code).name}'
    except ValueError:
      return f'killed by signal {-code}'
  return f'exit code {code}'


def _die_with_parent():
  """Linux: the rank gets SIGKILL if the launcher dies (even by SIGKILL), so no rank is orphaned."""
  try:
    import ctypes
    ctypes.CDLL('libc.so.6', use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
  except (OSError, AttributeError):
    pass


def _tee(pipe, log_file, out):
  """Copies rank 0's output to its log and to our stdout as it comes (tqdm's \\r included)."""
  while True:
    chunk = os.read(pipe.fileno(), 65536)
    if not chunk:
      break
    log_file.write(chunk)
    log_file.flush()
    out.write(chunk)
    out.flush()


class Ranks:
  """The running ranks: start, watch, forward signals, stop."""

  def __init__(self, command, num, devices, log_dir, port, heartbeat_timeout):
    self.log_dir = log_dir
    self.address = f'127.0.0.1:{port}'
    self.procs, self.logs = [], []
    self.killed = set()   # ranks the launcher killed (the others exited on their own)
    self.stop_deadline = float('inf')   # set when a stop signal is forwarded
    for rank in range(num):
      log = open(os.path.join(log_dir, f'rank{rank}.log'), 'wb')
      env = rank_env(rank, num, self.address, devices, heartbeat_timeout)
      # Own session: a terminal's Ctrl-C reaches the launcher only, which forwards it once.
      p = subprocess.Popen(command, env=env, stdout=subprocess.PIPE if rank == 0 else log,
                           stderr=subprocess.STDOUT, start_new_session=True,
                           preexec_fn=_die_with_parent)
      self.procs.append(p)
      self.logs.append(log)
    # Started after every fork (a thread running during fork+preexec_fn is unsafe).
    self._tee = threading.Thread(target=_tee, args=(self.procs[0].stdout, self.logs[0],
                                                    sys.stdout.buffer), daemon=True)
    self._tee.start()
    # One reaper per rank, blocked in waitpid: exits are queued in the order they happen. Polling
    # every 0.1 s could not tell which came first when a killed rank's peer aborts a few
    # milliseconds later (its collectives fail), and then named the wrong rank.
    self.exits = queue.Queue()   # (rank, exit code), in the order the ranks died
    for rank, p in enumerate(self.procs):
      threading.Thread(target=lambda r=rank, p=p: self.exits.put((r, p.wait())), daemon=True,
                       name=f'reap-rank{rank}').start()
    pids = os.path.join(log_dir, 'pids')   # "rank pid" lines, for tools and tests
    with open(pids + '.tmp', 'w') as f:
      f.write(''.join(f'{r} {p.pid}\n' for r, p in enumerate(self.procs)))
    os.replace(pids + '.tmp', pids)

  def signal_all(self, sig):
    for p in self.procs:
      if p.returncode is None:   # set by its reaper; poll() would race the reaper for waitpid
        try:
          os.killpg(p.pid, sig)   # the rank and anything it started
        except ProcessLookupError:
          pass

  def wait(self, grace: float) -> int:
    """Waits for all ranks; returns the launcher's exit code and prints what happened."""
    first_failure, deadline, hung = None, None, []
    codes = [None] * len(self.procs)
    while True:
      try:
        rank, code = self.exits.get(timeout=0.1)
      except queue.Empty:
        rank = None
      if rank is not None:
        codes[rank] = code
        if first_failure is None and code != 0 and rank not in self.killed:
          first_failure = rank
          deadline = time.monotonic() + grace
          log = os.path.join(self.log_dir, f'rank{rank}.log')
          _say(f'rank {rank} died ({describe_exit(code)}); waiting up to {grace:g}s for the other '
               f'ranks, then killing them. Its log: {log}')
      if all(c is not None for c in codes):
        break
      if time.monotonic() > self.stop_deadline:
        alive = [r for r, c in enumerate(codes) if c is None]
        _say(f'killing ranks {alive}: they did not stop after the forwarded signal')
        self.killed.update(alive)
        self.signal_all(signal.SIGKILL)
        self.stop_deadline = float('inf')
        hung = alive
      if deadline is not None and time.monotonic() > deadline:
        alive = [r for r, c in enumerate(codes) if c is None]
        _say(f'killing ranks {alive} (still running {grace:g}s after rank {first_failure} died)')
        self.killed.update(alive)
        self.signal_all(signal.SIGKILL)
        deadline = float('inf')
    if self._tee is not None:
      self._tee.join(timeout=5)
    for log in self.logs:
      log.close()
    codes = [p.returncode for p in self.procs]
    if first_failure is None and not hung:
      return 0
    summary = ', '.join(
        f'rank {r}: {describe_exit(c)}{" (by the launcher)" if r in self.killed else ""}'
        for r, c in enumerate(codes))
    if first_failure is None:
      _say(f'FAILED: ranks {hung} did not stop after the forwarded signal; {summary}. Logs in '
           f'{self.log_dir}')
      return 1
    _say(f'FAILED: rank {first_failure} died first ({describe_exit(codes[first_failure])}); '
         f'{summary}. Logs in {self.log_dir}')
    return 2 if codes[first_failure] == 2 else 1   # bad input stays bad input (exit 2)


def free_port() -> int:
  try:
    import portpicker
    return portpicker.pick_unused_port()
  except ImportError:  # portpicker is a dev extra; the kernel's choice is nearly as good
    import socket
    with socket.socket() as s:
      s.bind(('127.0.0.1', 0))
      return s.getsockname()[1]


def _say(msg):
  print(f'launch.local: {msg}', file=sys.stderr, flush=True)


def main(argv=None):
  args, command = parse(sys.argv[1:] if argv is None else argv)
  command = with_distributed(command)
  log_dir = args.log_dir
  if not log_dir:
    workdir = workdir_of(command)
    log_dir = (os.path.join(workdir, 'logs') if workdir and '://' not in workdir
               else tempfile.mkdtemp(prefix='nnzoo_local_'))
  os.makedirs(log_dir, exist_ok=True)
  port = args.port or free_port()
  _say(f'{args.num_processes} processes x {args.devices_per_process or "all"} devices, coordinator '
       f'127.0.0.1:{port}, logs in {log_dir}')
  ranks = Ranks(command, args.num_processes, args.devices_per_process, log_dir, port,
                args.heartbeat_timeout)

  def forward(signum, frame):
    del frame
    _say(f'got signal {signum}: forwarding it to every rank (they get {args.stop_timeout:g}s to '
         f'checkpoint and exit)')
    ranks.signal_all(signum)
    ranks.stop_deadline = min(ranks.stop_deadline, time.monotonic() + args.stop_timeout)

  old = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
  try:
    return ranks.wait(args.grace)
  finally:
    for s, h in old.items():
      signal.signal(s, h)
    ranks.signal_all(signal.SIGKILL)   # nothing outlives the launcher


if __name__ == '__main__':
  sys.exit(main())
