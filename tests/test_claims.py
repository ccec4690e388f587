"""Every experiment's CPU-scale paper claim, run as `python -m experiments.reproduce` would.

Marked slow. CI runs those whose record says they take at most NNZOO_CLAIM_MINUTES (default 3)
on 2 cores (`pytest -m slow tests/test_claims.py`); the longer ones say their time in their record
and are run by hand: `NNZOO_CLAIM_MINUTES=100 pytest -m slow tests/test_claims.py`.
"""

import glob
import json
import os
import subprocess
import sys

import pytest

from train import config as config_lib

CONFIGS = sorted(p for p in glob.glob('experiments/*/*.py')
                 if 'def get_record' in open(p).read())


@pytest.mark.slow
@pytest.mark.parametrize('path', CONFIGS)
def test_claim_reproduces(path, data_dir, tmp_path):
  record = config_lib.load_config_module(path).get_record()
  budget = float(os.environ.get('NNZOO_CLAIM_MINUTES', '3'))
  if record.claim.minutes > budget:
    pytest.skip(f'takes ~{record.claim.minutes} min (> NNZOO_CLAIM_MINUTES={budget})')
  # Exactly the recorded command, in its own process on one CPU device (not the 8 test devices).
  env = {k: v for k, v in os.environ.items() if k != 'XLA_FLAGS'}
  r = subprocess.run([sys.executable, '-m', 'experiments.reproduce', path, '--workdir',
                      str(tmp_path)], env=env, capture_output=True, text=True, timeout=3600)
  assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
  assert json.loads((tmp_path / 'reproduce.json').read_text())['passed']
