"""Every experiment's CPU-scale paper claim, run as `python -m experiments.reproduce` would.

Marked slow. CI runs those whose record says they take at most NNZOO_CLAIM_MINUTES (default 3)
on 2 cores (`pytest -m slow tests/test_claims.py`); the longer ones say their time in their record
and are run by hand: `NNZOO_CLAIM_MINUTES=100 pytest -m slow tests/test_claims.py`.
"""

import glob
import os

import pytest

from experiments import reproduce
from train import config as config_lib

CONFIGS = sorted(p for p in glob.glob('experiments/*/*.py')
                 if 'def get_record' in open(p).read())


@pytest.mark.slow
@pytest.mark.parametrize('path', CONFIGS)
def test_claim_reproduces(path, data_dir, tmp_path):
  record = config_lib._import_file(path).get_record()
  budget = float(os.environ.get('NNZOO_CLAIM_MINUTES', '3'))
  if record.claim.minutes > budget:
    pytest.skip(f'takes ~{record.claim.minutes} min (> NNZOO_CLAIM_MINUTES={budget})')
  _, _, result = reproduce.run_claim(path, str(tmp_path))
  assert result['passed'], reproduce.table(result)
