"""Checkpoints and data are never unpickled: a tiny run saves, is cut, resumes and exports with
every unpickling entry point of the standard library raising."""

import logging
import pickle

import numpy as np
import pytest

from tests import overrides as overrides_lib
from train import config as config_lib
from train import export
from train import loop


def _refuse(*args, **kwargs):
  raise AssertionError('something was unpickled')


class _RefusingUnpickler:
  def __init__(self, *args, **kwargs):
    _refuse()


@pytest.fixture
def no_unpickling(monkeypatch):
  """pickle.load/loads/Unpickler (and the C module's) raise; numpy's np.load(allow_pickle=True)
  and orbax/TFDS reach them through these names."""
  import _pickle
  for module in (pickle, _pickle):
    monkeypatch.setattr(module, 'load', _refuse)
    monkeypatch.setattr(module, 'loads', _refuse)
    monkeypatch.setattr(module, 'Unpickler', _RefusingUnpickler)
  with pytest.raises(AssertionError, match='unpickled'):   # the trap is armed
    pickle.loads(pickle.dumps(1))


@pytest.mark.slow  # three compiles of the tiny CNN: ~15 s; in CI (.ci/run)
def test_checkpoint_resume_data_and_export_never_unpickle(data_dir, tmp_path, no_unpickling,
                                                          caplog):
  c = config_lib.load('experiments/zoo/cnn_digits.py:tiny')
  with c.unlocked():
    c.data.data_dir = data_dir
    c.plots = False
  c = overrides_lib.set_keys(c, num_steps=2, ckpt_every=1, eval_every=0, log_every=1)
  part = loop.train_and_evaluate(c, tmp_path, stop_after=1, progress=False)
  assert part['preempted'] and part['step'] == 1
  with caplog.at_level(logging.INFO, logger='nnzoo'):
    resumed = loop.train_and_evaluate(c, tmp_path, progress=False)
  # an unreadable checkpoint is set aside with a warning and the run starts over: it must not be
  messages = [r.getMessage() for r in caplog.records]
  assert any('resumed from step 1' in m for m in messages), messages
  assert not any('unreadable' in m for m in messages), messages
  assert resumed['step'] == 2 and not resumed.get('preempted')
  out = tmp_path / 'w.npz'
  assert export.main(['--workdir', str(tmp_path), '--out', str(out)]) == 0
  with np.load(out, allow_pickle=False) as arrays:   # reading every array: no object arrays
    assert 'params/Dense_0/kernel' in arrays.files
    assert all(np.isfinite(arrays[k]).all() for k in arrays.files)
