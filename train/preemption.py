"""SIGTERM/SIGINT as a request to stop cleanly: the loop finishes the step, saves, and returns.

`__main__` installs the handler before the heavy imports, so a signal that arrives while JAX is
still loading or compiling is not lost either. A second SIGINT interrupts at once.
"""

import logging
import signal

log = logging.getLogger('nnzoo')


class StopSignal:

  def __init__(self):
    self.requested = False
    self._old = {}

  def install(self):
    for sig in (signal.SIGTERM, signal.SIGINT):
      try:
        self._old.setdefault(sig, signal.signal(sig, self._handle))
      except ValueError:  # not the main thread: leave signals alone
        pass
    return self

  def _handle(self, signum, frame):
    del frame
    if self.requested and signum == signal.SIGINT:
      raise KeyboardInterrupt
    self.requested = True
    log.warning('got signal %d: stopping after the current step with a checkpoint', signum)

  def restore(self):
    for sig, old in self._old.items():
      signal.signal(sig, old)
    self._old = {}


# One per process: __main__ installs it early, the loop uses the same object.
STOP = StopSignal()
