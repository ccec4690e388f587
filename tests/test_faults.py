"""The fault-injection suite (tests/faults.py) as tests: each fault for real, in subprocesses.

Marked slow (about 3 minutes on an idle 2-core machine); CI runs it as `python -m tests.faults`.
"""

import pytest

from tests import faults


@pytest.fixture(scope='module')
def env(tmp_path_factory):
  return faults.Env(root=str(tmp_path_factory.mktemp('faults')))


@pytest.mark.slow
@pytest.mark.parametrize('fault', faults.FAULTS, ids=lambda f: f.__name__)
def test_fault_loses_nothing(fault, env):
  outcome, ok = fault(env)
  if ok is None:   # the fault could not be injected here (a tmpfs that cannot be mounted)
    pytest.skip(outcome)
  assert ok, outcome
