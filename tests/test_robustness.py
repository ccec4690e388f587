"""Robustness of a run's edges: pictures that do not fit the data, a torn metrics.jsonl, one owner
per workdir, and bad command lines that must stop with one line (exit 2), not a traceback."""

import json
import logging
import os
import re
import socket
import subprocess
import time

import ml_collections
import numpy as np
import pytest
import tensorflow_datasets as tfds

from train import config as config_lib
from train import loop
from train import metrics as metrics_lib
from train import workdir_lock
from train.errors import UserError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class UserWine(tfds.core.GeneratorBasedBuilder):
  """A user's own data set whose `image` is not an image: 13 floats (scikit-learn's wine shape)."""

  VERSION = tfds.core.Version('1.0.0')

  def _info(self):
    return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
        'image': tfds.features.Tensor(shape=(13,), dtype=np.float32),
        'label': tfds.features.ClassLabel(num_classes=3)}))

  def _split_generators(self, dl_manager):
    del dl_manager
    return {'train': self._generate_examples(48, 0), 'test': self._generate_examples(16, 1)}

  def _generate_examples(self, n, seed):
    rng = np.random.default_rng(seed)
    for i in range(n):
      label = i % 3
      yield i, {'image': (rng.normal(size=13) + label).astype(np.float32), 'label': label}


@pytest.fixture(scope='module')
def wine_dir(tmp_path_factory):
  d = tmp_path_factory.mktemp('wine_tfds')
  UserWine(data_dir=str(d), file_format='array_record').download_and_prepare()
  return str(d)


def wine_config(data_dir, **overrides):
  c = config_lib.base_config()
  c.model = ml_collections.ConfigDict({'name': 'mlp', 'variant': 'tiny', 'num_classes': 3})
  c.data.name, c.data.data_dir, c.data.batch_size = 'user_wine', data_dir, 16
  c.num_steps, c.log_every, c.eval_every, c.ckpt_every = 2, 1, 1, 1
  for key, value in overrides.items():
    setattr(c, key, value)
  return c


@pytest.mark.slow  # 10-30 s: in CI (.ci/run), out of the 10-minute default run
def test_pictures_that_do_not_fit_are_skipped_with_one_warning(wine_dir, tmp_path, caplog):
  c = wine_config(wine_dir, num_steps=3)   # plots=True by default; evals at steps 1, 2 and 3
  with caplog.at_level(logging.WARNING, logger='nnzoo'):
    first = loop.train_and_evaluate(c, tmp_path, stop_after=2, progress=False)
  warned = [r.getMessage() for r in caplog.records if 'predictions.png' in r.getMessage()]
  assert warned and 'not images' in warned[0] and '\n' not in warned[0], warned
  assert first['preempted'] and (tmp_path / 'plots/learning_curves.png').exists()
  assert not (tmp_path / 'plots/predictions.png').exists()
  resumed = loop.train_and_evaluate(c, tmp_path, progress=False)   # the workdir resumes
  assert resumed['step'] == 3 and not resumed['preempted']
  assert (tmp_path / 'plots/confusion.png').exists()


def test_image_pictures_check_shapes_first(tmp_path, caplog):
  from train import plots
  with caplog.at_level(logging.WARNING, logger='nnzoo'):
    for shape in ((4, 40), (4, 40, 1), (4, 13)):   # 1-D signals, vectors
      assert plots.prediction_grid(np.zeros(shape), [0] * 4, [0] * 4,
                                   tmp_path / f'p{len(shape)}{shape[1]}.png') is None
    assert plots.prediction_grid(np.zeros((4, 8, 8, 1)), [0] * 4, [1] * 4, tmp_path / 'ok.png')
  assert len([r for r in caplog.records if 'skipped' in r.getMessage()]) == 3
  assert list(tmp_path.iterdir()) == [tmp_path / 'ok.png']   # no temporary file left behind


def test_a_picture_that_raises_costs_one_warning_not_the_run(tmp_path, caplog):
  def broken():
    raise TypeError('Invalid shape (13,) for image data\nsecond line')
  with caplog.at_level(logging.WARNING, logger='nnzoo'):
    loop._draw(tmp_path / 'Broken.plots', broken)
    loop._draw(tmp_path / 'Broken.plots', broken)   # the next evaluation: said once
  lines = [r.getMessage() for r in caplog.records]
  assert lines == ['plots: Broken.plots skipped: TypeError: Invalid shape (13,) for image data']


# --- metrics.jsonl and whole files --------------------------------------------------------------

def test_torn_metrics_tail_is_dropped_with_a_warning(tmp_path, caplog):
  rows = [{'step': s, 'split': 'train', 'loss': 1.0 / s} for s in (1, 2, 3)]
  path = tmp_path / 'metrics.jsonl'
  path.write_text(''.join(json.dumps(r) + '\n' for r in rows) + '{"step": 4, "split": "tr')
  assert metrics_lib.read(tmp_path) == rows   # a reader skips the torn line
  with caplog.at_level(logging.WARNING, logger='nnzoo'):
    metrics_lib.truncate_after(tmp_path, 2)
  assert any('line 4' in r.getMessage() and 'dropped' in r.getMessage() for r in caplog.records)
  assert path.read_text() == ''.join(json.dumps(r) + '\n' for r in rows[:2])
  assert sorted(p.name for p in tmp_path.iterdir()) == ['metrics.jsonl']


def test_run_resumes_over_a_torn_metrics_tail(wine_dir, tmp_path, caplog):
  c = wine_config(wine_dir, plots=False, num_steps=3)
  loop.train_and_evaluate(c, tmp_path, stop_after=2, progress=False)
  with open(tmp_path / 'metrics.jsonl', 'a') as f:   # killed while appending the next row
    f.write('{"step": 3, "split": "train", "lo')
  with caplog.at_level(logging.WARNING, logger='nnzoo'):
    s = loop.train_and_evaluate(c, tmp_path, progress=False)
  assert s['step'] == 3 and any('not whole JSON' in r.getMessage() for r in caplog.records)
  lines = (tmp_path / 'metrics.jsonl').read_text().splitlines()
  steps = [json.loads(line)['step'] for line in lines]
  assert steps == sorted(steps) and steps[-1] == 3
  assert json.loads((tmp_path / 'summary.json').read_text())['step'] == 3
  assert not [p for p in tmp_path.iterdir() if '.tmp-' in p.name or p.name == 'lock']


# --- one owner per workdir --------------------------------------------------------------------

def write_lock(workdir, pid, host=None, heartbeat_age=0.0):
  workdir.mkdir(parents=True, exist_ok=True)
  (workdir / 'lock').write_text(json.dumps({
      'pid': pid, 'host': host or socket.gethostname(), 'started': '2026-01-01T00:00:00+00:00',
      'heartbeat': time.time() - heartbeat_age, 'token': 'theirs'}))


@pytest.fixture
def live_pid():
  p = subprocess.Popen(['sleep', '60'])
  yield p.pid
  p.kill()
  p.wait()


def dead_pid():
  p = subprocess.Popen(['true'])
  p.wait()
  return p.pid


def test_lock_of_a_live_run_refuses_a_second(tmp_path, live_pid):
  write_lock(tmp_path, live_pid)
  with pytest.raises(workdir_lock.WorkdirInUse, match=f'pid {live_pid} on host'):
    with workdir_lock.held(tmp_path):
      pass
  assert json.loads((tmp_path / 'lock').read_text())['pid'] == live_pid   # left alone


def test_lock_of_a_dead_run_is_taken_over_and_released(tmp_path, caplog):
  write_lock(tmp_path, dead_pid())
  with caplog.at_level(logging.WARNING, logger='nnzoo'):
    with workdir_lock.held(tmp_path) as mine:
      assert json.loads((tmp_path / 'lock').read_text())['token'] == mine['token']
  assert any('stale (no such process): taken over' in r.getMessage() for r in caplog.records)
  assert not (tmp_path / 'lock').exists()


def test_lock_on_another_host_goes_stale_by_heartbeat(tmp_path):
  write_lock(tmp_path, 1, host='elsewhere', heartbeat_age=60)
  with pytest.raises(workdir_lock.WorkdirInUse, match='pid 1 on host elsewhere'):
    with workdir_lock.held(tmp_path):
      pass
  write_lock(tmp_path, 1, host='elsewhere', heartbeat_age=workdir_lock.STALE_S + 1)
  with workdir_lock.held(tmp_path):
    pass


# --- one-line errors of the command line ----------------------------------------------------

TINY = 'experiments/zoo/cnn_digits.py:tiny'


def cli(capsys, *argv):
  """`python -m train ARGV` in this process: (exit code, non-blank stderr lines)."""
  from train import __main__ as entry
  from train import preemption
  try:
    rc = entry.main(list(argv))
  finally:
    preemption.STOP.restore()   # main installs SIGTERM/SIGINT handlers for a whole process
    preemption.STOP.requested = False
  return rc, [l for l in capsys.readouterr().err.splitlines() if l.strip()]


def test_second_run_on_a_locked_workdir_is_one_line_exit_2(tmp_path, capsys, live_pid,
                                                           monkeypatch):
  monkeypatch.chdir(REPO)
  write_lock(tmp_path, live_pid)
  rc, err = cli(capsys, '--config', TINY, '--workdir', str(tmp_path))
  assert rc == 2 and len(err) == 1, err
  assert err[0].startswith('nnzoo: error: workdir') and f'pid {live_pid} on host' in err[0]


def test_workdir_that_is_a_file_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
  monkeypatch.chdir(REPO)
  (tmp_path / 'afile').write_text('x')
  for workdir in (tmp_path / 'afile', tmp_path / 'afile' / 'run'):
    rc, err = cli(capsys, '--config', TINY, '--workdir', str(workdir))
    assert rc == 2 and len(err) == 1 and err[0].startswith('nnzoo: error:'), err
    assert 'afile' in err[0]


def test_config_with_a_syntax_error_is_one_line_exit_2(tmp_path, capsys):
  bad = tmp_path / 'broken.py'
  bad.write_text('from train.config import base_config\n\n\n'
                 'def get_config(:\n  return base_config()\n')
  rc, err = cli(capsys, '--config', str(bad), '--workdir', str(tmp_path / 'run'))
  assert rc == 2 and err == [f'nnzoo: error: {bad} line 4: invalid syntax'], err
  assert not (tmp_path / 'run').exists()


def test_lock_heartbeat_is_rewritten_while_held(tmp_path, monkeypatch):
  monkeypatch.setattr(workdir_lock, 'HEARTBEAT_S', 0.05)
  with workdir_lock.held(tmp_path) as mine:
    first = mine['heartbeat']
    time.sleep(0.3)
    assert json.loads((tmp_path / 'lock').read_text())['heartbeat'] > first
  assert sorted(p.name for p in tmp_path.iterdir()) == []


# --- hostile values and bugs (tests/test_hostile_overrides.py fuzzes them all) --------

def test_a_bug_is_one_line_saying_so_then_its_traceback_exit_1(capsys, monkeypatch):
  monkeypatch.chdir(REPO)

  def broken(*args, **kwargs):
    raise RuntimeError('boom\nsecond line')
  monkeypatch.setattr(loop, 'train_and_evaluate', broken)
  monkeypatch.delenv('NNZOO_DEBUG', raising=False)
  rc, err = cli(capsys, '--config', TINY, '--workdir', '/nonexistent/run')
  assert rc == 1 and err[0] == ('nnzoo: internal error (a bug): RuntimeError: boom — please '
                                'report it with the traceback below'), err
  assert err[1] == 'Traceback (most recent call last):' and err[-2:] == ['RuntimeError: boom',
                                                                     'second line'], err
  monkeypatch.setenv('NNZOO_DEBUG', '1')
  with pytest.raises(RuntimeError):
    cli(capsys, '--config', TINY, '--workdir', '/nonexistent/run')


def test_out_of_memory_is_one_line_exit_2(capsys, monkeypatch):
  monkeypatch.chdir(REPO)

  def huge(*args, **kwargs):
    raise MemoryError('Unable to allocate 7.28 TiB for an array with shape (1000000000000,)')
  monkeypatch.setattr(loop, 'train_and_evaluate', huge)
  monkeypatch.delenv('NNZOO_DEBUG', raising=False)
  rc, err = cli(capsys, '--config', TINY, '--workdir', '/nonexistent/run')
  assert rc == 2 and len(err) == 1 and err[0].startswith('nnzoo: error: out of memory: '), err


@pytest.mark.parametrize('override,named', [
    ('seed=-1', 'config.seed'), ('eval_every=-5', 'config.eval_every'),
    ('cpu_devices=1000000000000', 'config.cpu_devices'),
    ('data.eval_batch_size=-8', 'eval_batch_size'), ('data.classes=(-1, 3)', 'data.classes'),
    ('data.classes=(1, 1)', 'data.classes'), ('data.name=', 'data.name'),
    ('data.preprocess=1e30', 'input step 1e+30'), ('data.augment=(None,)', 'augment step None'),
    ('data.mean=(nan,)', 'data.mean'), ('data.std=(0.5,)', 'data.mean'),
    ('optimizer.learning_rate=nan', 'learning_rate'), ('optimizer.eps=-inf', 'optimizer.eps'),
    ('optimizer.warmup_steps=-3', 'warmup_steps'), ('optimizer.freeze=5', 'optimizer.freeze'),
    ('optimizer.train_only=("(",)', 'not a valid regular expression'),
    ('optimizer.lr_multipliers=-7', 'lr_multipliers'),
    ('optimizer.lr_multipliers=(("Dense", "x"),)', 'lr_multipliers'),
    ('init_from.step=-2', 'init_from.step'), ('init_from.rename=(("a", 1),)', 'init_from.rename'),
    ('mesh.data=0', 'config.mesh.data'), ('mesh.model=-3', 'config.mesh.model'),
    ('sharding.rules=(("x", ("nope",)),)', 'sharding.rules'), ('xla_options=(5,)', 'xla_options'),
])
def test_hostile_values_stop_at_validation_naming_the_key(override, named):
  c = config_lib.load(os.path.join(REPO, TINY))
  config_lib.apply_overrides(c, [f'--config.{override}'])
  with pytest.raises(UserError, match=re.escape(named)):
    config_lib.validate(c)


def test_a_batch_that_cannot_fit_in_memory_is_named_before_it_is_read():
  from train import data
  source = [{'image': np.zeros((8, 8, 1), np.uint8), 'label': 0}] * 4
  with pytest.raises(UserError, match=r'config.data.eval_batch_size=1000000000000 needs .* GiB'):
    data._check_batch_fits('eval_batch_size', 10 ** 12, source, 1)
  data._check_batch_fits('batch_size', 128, source, 1)


def test_a_train_state_larger_than_a_device_is_named_before_it_is_allocated():
  import types
  import jax
  import jax.numpy as jnp
  mesh = jax.make_mesh((jax.device_count(),), ('data',))
  run = types.SimpleNamespace(
      abstract_state={'w': jax.ShapeDtypeStruct((10 ** 7, 10 ** 6), jnp.float32)},
      state_sharding={'w': jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())})
  c = config_lib.load(os.path.join(REPO, TINY))
  with pytest.raises(UserError, match=r'train state needs 3.73e\+04 GiB per device'):
    loop._check_state_fits(c, run)


def test_a_huge_class_number_costs_no_memory():
  from train import data
  source = [{'image': np.zeros((2,), np.float32), 'label': i % 3} for i in range(9)]
  subset = data.Subset(source, 'label', classes=(2, 10 ** 12))
  assert len(subset) == 3 and subset.read(np.arange(3))['label'].tolist() == [0, 0, 0]
  with pytest.raises(UserError, match="label_key='nope' is not a feature"):
    data.Subset(source, 'nope', classes=(1,))


def test_a_config_with_nan_in_it_is_the_same_run_when_resumed():
  c = config_lib.load(os.path.join(REPO, TINY))
  with c.unlocked():
    c.objective_args.width = float('nan')
    c.data.mean, c.data.std = (float('nan'),), (1.0,)
  saved = json.loads(config_lib.to_json(c))
  assert loop.changed_keys(saved, c) == []


def test_a_full_disk_reported_as_resource_exhausted_is_a_full_disk():
  from train import cli as cli_lib
  store = ValueError('RESOURCE_EXHAUSTED: Error writing local file "/w/checkpoints/5.orbax-'
                     'checkpoint-tmp/d/abc": No space left on device [OS error: 28]')
  wrapped = RuntimeError('save failed')
  wrapped.__cause__ = store
  assert cli_lib.error_kind(store) == cli_lib.error_kind(wrapped) == 'disk full'
  assert cli_lib.error_kind(ValueError('RESOURCE_EXHAUSTED: Out of memory allocating 8 GiB')) == (
      'out of memory')
  assert cli_lib.error_kind(MemoryError('Unable to allocate')) == 'out of memory'
  assert cli_lib.error_kind(RuntimeError('boom')) is None
