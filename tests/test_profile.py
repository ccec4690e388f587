"""config.profile_steps: a jax.profiler trace of exactly the steps asked for, in
workdir/profile/."""

import gzip
import json

import pytest

from tests.test_engine import tiny
from train import config as config_lib
from train import loop
from train.errors import UserError


@pytest.mark.parametrize('steps', [(5, 5), (-1, 3), (3, 400), (1, 2, 3), ('a', 'b'), (7,)])
def test_bad_profile_steps_are_one_line_errors(steps):
  with pytest.raises(UserError, match='profile_steps=.* must be \\(START, STOP\\)'):
    config_lib.validate(tiny('', profile_steps=steps))


@pytest.mark.slow
def test_trace_covers_the_asked_steps(data_dir, tmp_path):
  c = tiny(data_dir, num_steps=12, eval_every=0, profile_steps=(4, 8))
  loop.train_and_evaluate(c, tmp_path, progress=False)
  runs = list((tmp_path / 'profile' / 'plugins' / 'profile').iterdir())
  assert len(runs) == 1
  assert list(runs[0].glob('*.xplane.pb'))   # what TensorBoard's profile plugin reads
  trace = json.load(gzip.open(runs[0] / 'perfetto_trace.json.gz'))
  events = trace['traceEvents'] if isinstance(trace, dict) else trace
  steps = sorted(int(e['args']['step_num']) for e in events if e.get('name') == 'train')
  assert steps == [5, 6, 7, 8]   # the steps taking the state from 4 to 8, numbered as logged
  device_work = [e for e in events if e.get('ph') == 'X' and e.get('name') != 'train']
  assert device_work   # the steps' XLA work is in it, not only the annotations
