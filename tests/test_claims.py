"""Every experiment's CPU-scale paper claim, run as `python -m experiments.reproduce` would.

Marked slow. CI runs those whose record says they take at most NNZOO_CLAIM_MINUTES (default 3)
on 2 cores, plus, with NNZOO_CLAIM_ROTATION_MINUTES=M, one group of the longer ones: they are
packed in path order into groups of at most M minutes and the commit hash picks the group
(tests/rotation.py), so each comes round within a few commits; a claim not yet recorded waits
for its record (tests/test_experiments.py lists those CI would run). Claims longer than M are run
by hand: `NNZOO_CLAIM_MINUTES=100 pytest -m slow tests/test_claims.py`.

With NNZOO_CLAIM_SEEDS=1 (CI) each claim runs one of its seeds, the one the commit hash picks, and
that seed's value must pass the threshold, in a third of the time; the other seeds come round on
later commits. A claim whose record has a seed that fails alone (it passes on the mean) runs all
its seeds. Unset (by hand): every seed, as recorded.
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


def seeds_alone_pass(path) -> bool:
  """Every recorded seed of the claim passes its threshold on its own."""
  from experiments import reproduce
  claim = config_lib.load_config_module(path).get_record().claim
  values = json.loads(reproduce.results_path(path).read_text())['values']
  return all(claim.passes(v) for v in values)


def seeds_to_run(seeds, commit=None, alone_pass=True) -> tuple:
  """The claim's seeds, or with NNZOO_CLAIM_SEEDS=K the K of them starting at the one the commit
  picks (cyclically), where each recorded seed passes alone (`alone_pass`)."""
  k = int(os.environ.get('NNZOO_CLAIM_SEEDS', '0') or 0)
  seeds = tuple(seeds)
  if k <= 0 or k >= len(seeds) or not alone_pass:
    return seeds
  start = rotation.pick([None] * len(seeds), commit)
  return tuple(seeds[(start + i) % len(seeds)] for i in range(k))


@pytest.mark.slow
@pytest.mark.parametrize('path', CONFIGS)
def test_claim_reproduces(path, data_dir, tmp_path):
  record = config_lib.load_config_module(path).get_record()
  budget = float(os.environ.get('NNZOO_CLAIM_MINUTES', '3'))
  share = float(os.environ.get('NNZOO_CLAIM_ROTATION_MINUTES', '0'))
  if not recorded(path):
    # a claim CI would run without a record is named in test_experiments.AWAITING_RECORD
    pytest.skip('not recorded yet')
  if record.claim.minutes > budget:
    chosen, index, count = rotating_claims(budget, share) if share else ([], 0, 0)
    if path not in chosen:
      where = ('not recorded yet' if not recorded(path) else
               f'not in this commit\'s rotation group {index + 1} of {count}'
               if record.claim.minutes <= share else f'longer than the rotation\'s {share} min')
      pytest.skip(f'takes ~{record.claim.minutes} min (> NNZOO_CLAIM_MINUTES={budget}); {where}')
  # Exactly the recorded command, in its own process on one CPU device (not the 8 test devices).
  env = {k: v for k, v in os.environ.items() if k != 'XLA_FLAGS'}
  seeds = ','.join(str(s) for s in seeds_to_run(record.claim.seeds,
                                                alone_pass=seeds_alone_pass(path)))
  r = subprocess.run([sys.executable, '-m', 'experiments.reproduce', path, '--workdir',
                      str(tmp_path), '--seeds', seeds], env=env, capture_output=True, text=True,
                     timeout=3600)
  assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
  result = json.loads((tmp_path / 'reproduce.json').read_text())
  assert result['seeds'] == [int(s) for s in seeds.split(',')], result['seeds']
  assert result['passed'], (seeds, result['values'], result['threshold'])


def test_one_seed_a_commit_reaches_every_seed(monkeypatch):
  """NNZOO_CLAIM_SEEDS=1 runs one seed; over commits, each of the claim's seeds."""
  monkeypatch.setenv('NNZOO_CLAIM_SEEDS', '1')
  picked = {seeds_to_run((0, 1, 2), commit) for commit in ('0a', '0b', '0c', '0d', '0e', '0f')}
  assert picked == {(0,), (1,), (2,)}
  assert seeds_to_run((0, 1, 2), '0a', alone_pass=False) == (0, 1, 2)
  monkeypatch.setenv('NNZOO_CLAIM_SEEDS', '0')
  assert seeds_to_run((0, 1, 2), '0a') == (0, 1, 2)

