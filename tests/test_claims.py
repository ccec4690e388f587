"""Every experiment's CPU-scale paper claim, run as `python -m experiments.reproduce` would.

Marked slow. CI runs those whose record says they take at most NNZOO_CLAIM_MINUTES (default 3)
on 2 cores, plus, with NNZOO_CLAIM_ROTATION_MINUTES=M, one group of the longer ones: they are
packed in path order into groups of at most M minutes and the commit hash picks the group
(tests/rotation.py), so each comes round within a few commits; a longer claim not yet recorded
waits for its record. Claims longer than M are run by hand:
`NNZOO_CLAIM_MINUTES=100 pytest -m slow tests/test_claims.py`.
"""

import glob
import json
import os
import subprocess
import sys

import pytest

from tests import rotation
from train import config as config_lib

CONFIGS = sorted(p for p in glob.glob('experiments/*/*.py')
                 if 'def get_record' in open(p).read())




def minutes(path) -> float:
  return float(config_lib.load_config_module(path).get_record().claim.minutes)


def recorded(path) -> bool:
  """A result is on file: a claim written but not yet recorded (its threshold may still await
  its seed-0 calibration) is not re-checked until it is."""
  from experiments import reproduce
  return reproduce.results_path(path).exists()


def rotating_claims(budget: float, share: float) -> tuple[list, int, int]:
  """(the recorded claims longer than `budget` that this commit runs, its group, the number of
  groups)."""
  longer = [p for p in CONFIGS if minutes(p) > budget and recorded(p)]
  groups = rotation.groups(longer, minutes, share)
  index = rotation.pick(groups)
  return (groups[index] if groups else []), index, len(groups)


@pytest.mark.slow
@pytest.mark.parametrize('path', CONFIGS)
def test_claim_reproduces(path, data_dir, tmp_path):
  record = config_lib.load_config_module(path).get_record()
  budget = float(os.environ.get('NNZOO_CLAIM_MINUTES', '3'))
  share = float(os.environ.get('NNZOO_CLAIM_ROTATION_MINUTES', '0'))
  if record.claim.minutes > budget:
    chosen, index, count = rotating_claims(budget, share) if share else ([], 0, 0)
    if path not in chosen:
      where = ('not recorded yet' if not recorded(path) else
               f'not in this commit\'s rotation group {index + 1} of {count}'
               if record.claim.minutes <= share else f'longer than the rotation\'s {share} min')
      pytest.skip(f'takes ~{record.claim.minutes} min (> NNZOO_CLAIM_MINUTES={budget}); {where}')
  # Exactly the recorded command, in its own process on one CPU device (not the 8 test devices).
  env = {k: v for k, v in os.environ.items() if k != 'XLA_FLAGS'}
  r = subprocess.run([sys.executable, '-m', 'experiments.reproduce', path, '--workdir',
                      str(tmp_path)], env=env, capture_output=True, text=True, timeout=3600)
  assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
  assert json.loads((tmp_path / 'reproduce.json').read_text())['passed']
