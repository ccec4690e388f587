"""python -m train.evaluate and train.export: a checkpoint evaluated on other devices repeats the
run's own final evaluation; the export is flat named arrays np.load reads without pickle."""

import json

import jax
import numpy as np
import pytest

from tests.test_engine import tiny
from train import checkpoint
from train import evaluate
from train import export
from train import loop


def _errors(capsys):
  return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def test_a_workdir_without_a_run_is_one_line_exit_2(tmp_path, capsys):
  assert evaluate.main(['--workdir', str(tmp_path)]) == 2
  assert _errors(capsys) == [f'nnzoo: error: --workdir {tmp_path} holds no run (no config.json '
                             f'there)']
  assert export.main(['--workdir', str(tmp_path), '--out', str(tmp_path / 'a.npz')]) == 2
  assert len(_errors(capsys)) == 1


def test_bad_command_lines_are_one_line_exit_2(tmp_path, capsys):
  for module, argv in ((evaluate, ['--workdir', 'w', '--step', '-1']),
                       (evaluate, ['--workdir', 'w', '--stepp', '3']),
                       (export, ['--workdir', 'w', '--out', 'x.pkl'])):
    with pytest.raises(SystemExit) as e:
      module.main(argv)
    assert e.value.code == 2
    assert len(_errors(capsys)) == 1


@pytest.fixture(scope='module')
def run(data_dir, tmp_path_factory):
  """A run trained on the 8 test devices, with a parameter EMA (evaluated raw)."""
  workdir = tmp_path_factory.mktemp('run')
  c = tiny(data_dir, num_steps=30, eval_every=0, ckpt_every=10, **{'optimizer.ema_decay': 0.9})
  summary = loop.train_and_evaluate(c, workdir, progress=False)
  assert summary['devices'] == 8
  return workdir, summary


@pytest.mark.slow
def test_evaluation_on_one_device_equals_the_runs_final_eval(run):
  workdir, summary = run
  one = evaluate.evaluate(workdir, devices=jax.devices()[:1])
  assert one['step'] == 30 and one['devices'] == 1 and one['split'] == 'test'
  assert one['eval']['accuracy'] == summary['eval']['accuracy']   # counts: exact
  # Sums over 1 instead of 8 devices add in another order (test_engine's 1-vs-8 drift).
  np.testing.assert_allclose(one['eval']['loss'], summary['eval']['loss'], rtol=1e-5)
  assert json.loads((workdir / 'eval' / '30.json').read_text()) == one
  eight = evaluate.evaluate(workdir)
  assert eight['eval'] == summary['eval']   # the same devices: the same numbers, bit for bit


@pytest.mark.slow
def test_evaluation_of_another_step_split_and_the_ema(run):
  workdir, summary = run
  older = evaluate.evaluate(workdir, step=20, overrides=['--config.data.eval_split=train'])
  assert older['step'] == 20 and older['split'] == 'train'
  assert (workdir / 'eval' / '20.json').exists()
  ema = evaluate.evaluate(workdir, overrides=['--config.eval_ema=True'])
  assert ema['ema'] and ema['eval'] != summary['eval']


@pytest.mark.slow
def test_export_writes_the_parameters_as_named_arrays(run, tmp_path, capsys):
  workdir, summary = run
  out = tmp_path / 'params.npz'
  assert export.main(['--workdir', str(workdir), '--out', str(out)]) == 0
  assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])['step'] == 30
  arrays = dict(np.load(out, allow_pickle=False))
  _, state = checkpoint.read_state(workdir / 'checkpoints')
  flat = jax.tree_util.tree_flatten_with_path(state['params'])[0]
  expected = {'params/' + '/'.join(k.key for k in path): leaf for path, leaf in flat}
  assert set(arrays) == set(expected) and 'params/Conv_0/kernel' in arrays
  for name, value in expected.items():
    np.testing.assert_array_equal(arrays[name], value)
