"""A workdir has one owner: `<workdir>/lock` names the run that holds it (pid, host, start time).

Two runs in one workdir would interleave their metrics, checkpoints and plots and each believe
its own; so the second stops with one line naming the first. The lock lives as long as the run
(`held`, a context manager) and is removed at its end. A lock whose holder is gone (kill -9, a
power cut) is taken over with a warning: on the same host when its pid no longer exists; when the
holder is on another host (a shared file system, gs://), its pid cannot be checked there, so it
counts as gone once its heartbeat (rewritten every HEARTBEAT_S by the holder) is older than
STALE_S. Read-only tools (reports, transfer's init_from) take no lock.
"""

import contextlib
import datetime
import json
import logging
import os
import socket
import threading
import time
import uuid

from etils import epath

from train import atomic
from train.errors import UserError

log = logging.getLogger('nnzoo')

NAME = 'lock'
HEARTBEAT_S = 60.0
STALE_S = 600.0   # ten missed heartbeats: a holder on another host counts as gone


class WorkdirInUse(UserError):
  """Another live run holds the workdir."""


@contextlib.contextmanager
def held(workdir):
  """Holds `<workdir>/lock` (the workdir exists) for the body, or raises WorkdirInUse."""
  path = epath.Path(workdir) / NAME
  mine = _take(path)
  beat = threading.Event()
  thread = threading.Thread(target=_heartbeat, args=(path, mine, beat), daemon=True,
                            name='nnzoo-workdir-lock')
  thread.start()
  try:
    yield mine
  finally:
    beat.set()
    thread.join()
    _release(path, mine)


def _take(path) -> dict:
  mine = {'pid': os.getpid(), 'host': socket.gethostname(),
          'started': datetime.datetime.now().astimezone().isoformat(timespec='seconds'),
          'heartbeat': time.time(), 'token': uuid.uuid4().hex}
  remote = '://' in str(path)
  if remote:
    # Best effort only: epath has no create-if-absent on object stores, so two runs that start
    # within the same second can both "take" it; the heartbeat check below still catches a run
    # started later, which is the common mistake.
    log.warning('workdir lock %s is best effort on %s (no atomic create there; a holder counts '
                'as gone after %d s without a heartbeat)', path, str(path).split('://')[0] + '://',
                STALE_S)
  for _ in range(2):   # a stale lock is removed once, then taken like a free one
    if _create(path, mine, remote):
      return mine
    holder = _holder(path)
    if holder is None:   # removed between our try and our read: try again
      continue
    gone = _gone(holder)
    if not gone:
      raise WorkdirInUse(
          f'workdir {path.parent} is in use by pid {holder.get("pid")} on host '
          f'{holder.get("host")} (started {holder.get("started")}): wait for that run, stop it, '
          f'or use another --workdir; if no such run exists, delete {path}')
    log.warning('workdir lock of pid %s on host %s (started %s) is stale (%s): taken over',
                holder.get('pid'), holder.get('host'), holder.get('started'), gone)
    if (_holder(path) or {}).get('token') == holder.get('token'):   # still that one, not a newer
      with contextlib.suppress(FileNotFoundError):
        path.unlink()
  raise WorkdirInUse(f'workdir {path.parent} was locked by another run starting at the same time '
                     f'(see {path})')


def _create(path, mine: dict, remote: bool) -> bool:
  """Writes the lock if none exists; False if one does. Locally atomic: the whole file is written
  under a private name and hard-linked to `lock`, which fails if `lock` exists."""
  text = json.dumps(mine)
  if remote:
    if path.exists():
      return False
    path.write_text(text)
    return True
  private = path.parent / f'.{NAME}.{mine["token"]}'
  private.write_text(text)
  try:
    os.link(private, path)
    return True
  except FileExistsError:
    return False
  finally:
    private.unlink()


def _holder(path) -> dict | None:
  """The lock's contents; {} if unreadable (not JSON); None if there is no lock any more."""
  try:
    text = path.read_text()
  except FileNotFoundError:
    return None
  try:
    holder = json.loads(text)
  except json.JSONDecodeError:
    return {}
  return holder if isinstance(holder, dict) else {}


def _gone(holder: dict) -> str:
  """Why the holder is gone ('' if it may be alive)."""
  if 'pid' not in holder or 'host' not in holder:
    return 'unreadable lock file'
  if holder['host'] == socket.gethostname():
    return '' if _alive(int(holder['pid'])) else 'no such process'
  age = time.time() - float(holder.get('heartbeat', 0))
  return f'no heartbeat for {age:.0f} s' if age > STALE_S else ''


def _alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)   # signal 0: only asks whether the process exists
  except ProcessLookupError:
    return False
  except PermissionError:   # exists, owned by another user
    return True
  return True


def _heartbeat(path, mine: dict, stop: threading.Event) -> None:
  """Rewrites the lock's heartbeat every HEARTBEAT_S (whole file, renamed into place) while it is
  ours; what a run on another host reads to tell a live holder from a dead one."""
  while not stop.wait(HEARTBEAT_S):
    try:
      if (_holder(path) or {}).get('token') != mine['token']:
        log.warning('workdir lock %s was taken by another run', path)
        return
      mine['heartbeat'] = time.time()
      atomic.write(path, json.dumps(mine))
    except OSError:   # a full or failing disk: the run itself reports that, not this thread
      pass


def _release(path, mine: dict) -> None:
  """Removes the lock if it is still ours (one taken over from us belongs to the newer run)."""
  with contextlib.suppress(OSError):
    if (_holder(path) or {}).get('token') == mine['token']:
      path.unlink()
