"""The loop end to end on 8 fake devices: it learns, it resumes bit for bit, it survives a corrupted
checkpoint, and it gives the same numbers on 1 and 8 devices."""

import functools
import json
import logging
import os
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from tests import overrides as overrides_lib
from train import config as config_lib
from train import loop
from train import metrics as metrics_lib
from train import objectives

TINY = 'experiments/zoo/cnn_digits.py:tiny'


def tiny(data_dir, **overrides):
  c = config_lib.load(TINY)
  with c.unlocked():
    c.data.data_dir = data_dir
    c.log_every = 1
    c.plots = False
    c.optimizer.learning_rate = 0.01
    c.optimizer.schedule = 'constant'
  return overrides_lib.set_keys(c, **overrides)


def train_losses(workdir):
  return {r['step']: r['loss'] for r in metrics_lib.read(workdir) if r['split'] == 'train'}


def params_equal(a, b):
  return all(np.array_equal(x, y) for x, y in
             zip(jax.tree.leaves(jax.device_get(a)), jax.tree.leaves(jax.device_get(b))))


def test_trains_and_writes_its_workdir(data_dir, tmp_path):
  c = tiny(data_dir, num_steps=60, eval_every=30, ckpt_every=30, plots=True)
  s = loop.train_and_evaluate(c, tmp_path, progress=False)
  losses = train_losses(tmp_path)
  assert np.mean([losses[i] for i in range(51, 61)]) < 0.5 * losses[1]
  assert s['eval']['accuracy'] > 0.5 and s['devices'] == 8
  for name in ('config.json', 'metrics.jsonl', 'summary.json', 'plots/learning_curves.png',
               'plots/predictions.png', 'plots/confusion.png', 'checkpoints/60'):
    assert (tmp_path / name).exists(), name
  assert any(p.name.startswith('events') for p in (tmp_path / 'tensorboard').iterdir())
  written = json.loads((tmp_path / 'config.json').read_text())
  assert written['num_steps'] == 60
  # every argument the objective reads is stated, defaults included
  assert written['objective_args'] == {'aux_weight': 0.4, 'extra_inputs': [], 'input_key': 'image'}


def test_resumed_run_equals_uninterrupted_bit_for_bit(data_dir, tmp_path, capsys):
  c = tiny(data_dir, num_steps=40, ckpt_every=10, eval_every=0)
  full = loop.train_and_evaluate(c, tmp_path / 'full', progress=False)
  part = loop.train_and_evaluate(c, tmp_path / 'cut', stop_after=25, progress=False)
  assert part['preempted'] and part['step'] == 25
  resumed = loop.train_and_evaluate(c, tmp_path / 'cut', progress=False)
  assert train_losses(tmp_path / 'full') == train_losses(tmp_path / 'cut')   # exact floats
  assert params_equal(full['state'].params, resumed['state'].params)
  assert params_equal(full['state'].opt_state, resumed['state'].opt_state)
  assert full['eval'] == resumed['eval']
  # Once more on the finished workdir: nothing to train, and the last line says so (not 'None
  # steps/s').
  again = loop.train_and_evaluate(c, tmp_path / 'cut', progress=True)
  assert again['step'] == 40 and again['steps_per_s'] is None
  assert '(no steps this run: the workdir was at step 40)' in capsys.readouterr().out


def test_progress_bar_is_done_before_the_final_evaluation(data_dir, tmp_path, capsys, monkeypatch):
  """The bar's last line is drawn when the steps end, so its rate is the steps' own: nothing of it
  is drawn again once the final evaluation (and the pictures after it) begin."""
  c = tiny(data_dir, num_steps=3, ckpt_every=0, eval_every=0)
  evaluate, before = loop.Evaluator.__call__, []

  def final_evaluation(self, state):
    before.append(capsys.readouterr().err)   # what was drawn until now
    return evaluate(self, state)
  monkeypatch.setattr(loop.Evaluator, '__call__', final_evaluation)
  loop.train_and_evaluate(c, tmp_path, progress=True)
  after = capsys.readouterr().err
  assert len(before) == 1 and '3/3' in before[0], before
  assert '3/3' not in after and 'step/s' not in after, after


@pytest.mark.slow  # 10-30 s: in CI (.ci/run), out of the 10-minute default run
def test_corrupt_newest_checkpoint_falls_back_with_warning(data_dir, tmp_path, caplog):
  c = tiny(data_dir, num_steps=30, ckpt_every=10, eval_every=0)
  full = loop.train_and_evaluate(c, tmp_path / 'full', progress=False)
  loop.train_and_evaluate(c, tmp_path / 'cut', stop_after=20, progress=False)
  step_dir = tmp_path / 'cut' / 'checkpoints' / '20'
  victims = [p for p in step_dir.rglob('*') if p.is_file() and p.stat().st_size > 100]
  for p in victims:   # truncate every sizeable file of the newest step
    with open(p, 'r+b') as f:
      f.truncate(p.stat().st_size // 3)
  with caplog.at_level(logging.WARNING, logger='nnzoo'):
    resumed = loop.train_and_evaluate(c, tmp_path / 'cut', progress=False)
  assert any('step 20' in r.getMessage() and 'unreadable' in r.getMessage() for r in caplog.records)
  assert (tmp_path / 'cut' / 'checkpoints' / '20.unreadable').exists()
  assert params_equal(full['state'].params, resumed['state'].params)


def test_workdir_of_another_config_is_refused(data_dir, tmp_path, monkeypatch):
  from train.errors import UserError
  first = tiny(data_dir, num_steps=2, eval_every=0)
  other = tiny(data_dir, num_steps=2, eval_every=0, **{'optimizer.learning_rate': 0.5})
  monkeypatch.chdir(tmp_path)   # a relative workdir, as in the README's command
  loop.train_and_evaluate(first, 'runs/a', progress=False)
  assert (tmp_path / 'runs/a/checkpoints/2').exists()
  with pytest.raises(UserError, match='different config.*optimizer.learning_rate.*--overwrite'):
    loop.train_and_evaluate(other, 'runs/a', progress=False)


def relative_difference(a, b) -> float:
  """The largest difference between two parameter trees, leaf by leaf relative to the leaf's
  largest magnitude in `b`."""
  pairs = zip(jax.tree.leaves(jax.device_get(a)), jax.tree.leaves(jax.device_get(b)))
  return max(float(np.max(np.abs(np.asarray(x) - np.asarray(y))) / np.max(np.abs(np.asarray(y))))
             for x, y in pairs)


# FSDP against data parallel after 5 steps: 6e-5 measured (float32 sums in another order); 1e-3
# leaves 16x room for hosts whose kernels round differently.
TOL_FSDP_PARAMS = 1e-3
# 1 against 8 devices after 50 Adam steps: 5.9e-3 measured (the rounding of the gradient's sum,
# carried through 50 steps, as the losses' 4.5e-4 above); 3e-2 leaves 5x room. A lost or doubled
# device's share changes every step's gradient by about an eighth of it.
TOL_DEVICES_PARAMS = 3e-2


@pytest.mark.slow  # 10-30 s: in CI (.ci/run), out of the 10-minute default run
def test_fsdp_shards_parameters_and_matches_data_parallel(data_dir, tmp_path):
  from train import sharding as sharding_lib
  base = dict(num_steps=5, eval_every=0, **{'model.variant': 'small'})
  dp = loop.train_and_evaluate(tiny(data_dir, **base), tmp_path / 'dp', progress=False)
  fsdp = loop.train_and_evaluate(tiny(data_dir, **base, **{'sharding.fsdp': True}),
                                 tmp_path / 'fsdp', progress=False)
  def per_device_bytes(state):
    shardings = jax.tree.map(lambda x: x.sharding, state.params)
    return sum(r[3] for r in sharding_lib.describe(state.params, shardings))
  ratio = per_device_bytes(fsdp['state']) / per_device_bytes(dp['state'])
  assert ratio < 0.2    # ~1/8, plus the small replicated biases
  dl, fl = train_losses(tmp_path / 'dp'), train_losses(tmp_path / 'fsdp')
  np.testing.assert_allclose([fl[s] for s in sorted(fl)], [dl[s] for s in sorted(dl)], rtol=1e-4)
  # The parameters, not only the losses: FSDP gathers the same weights and sums the same gradient
  # in another order.
  assert relative_difference(fsdp['state'].params, dp['state'].params) < TOL_FSDP_PARAMS


def _run_on(devices, workdir, data_dir):
  env = dict(os.environ, XLA_FLAGS=f'--xla_force_host_platform_device_count={devices}',
             NNZOO_DATA_DIR=data_dir)
  cmd = [sys.executable, '-m', 'train', '--config', TINY, '--workdir', str(workdir),
         '--config.log_every=1', '--config.num_steps=50', '--config.plots=False',
         '--config.eval_every=0', f'--config.data.data_dir={data_dir}',
         '--config.optimizer.learning_rate=0.01', '--config.optimizer.schedule=constant']
  r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
  assert r.returncode == 0, r.stderr[-2000:]
  return json.loads((workdir / 'summary.json').read_text())


def test_one_and_eight_devices_give_the_same_run(data_dir, tmp_path):
  one = _run_on(1, tmp_path / 'one', data_dir)
  eight = _run_on(8, tmp_path / 'eight', data_dir)
  assert (one['devices'], eight['devices']) == (1, 8)
  l1, l8 = train_losses(tmp_path / 'one'), train_losses(tmp_path / 'eight')
  assert sorted(l1) == list(range(1, 51))
  # Eight devices sum each gradient in another order (eight partial sums, then an all-reduce):
  # float32 rounding, within 1e-5 for 20 steps, grows to 4.5e-4 relative by step 50 (measured
  # with XLA's own convolution kernels, train/xla_options.py). A lost or doubled device's share
  # of the batch moves the loss by percents.
  np.testing.assert_allclose([l8[s] for s in range(1, 51)], [l1[s] for s in range(1, 51)],
                             rtol=1e-3)
  np.testing.assert_allclose([l8[s] for s in range(1, 21)], [l1[s] for s in range(1, 21)],
                             rtol=1e-5)
  assert abs(one['eval']['accuracy'] - eight['eval']['accuracy']) <= 0.01
  # And the parameters they end with (read from each run's last checkpoint).
  from train import checkpoint
  p1 = checkpoint.read_state(tmp_path / 'one' / 'checkpoints')[1]['params']
  p8 = checkpoint.read_state(tmp_path / 'eight' / 'checkpoints')[1]['params']
  assert relative_difference(p8, p1) < TOL_DEVICES_PARAMS


@pytest.mark.slow  # 10-30 s: in CI (.ci/run), out of the 10-minute default run
def test_xla_options_change_kernels_not_the_math():
  """The engine's XLA options for a step with convolutions (train/xla_options.py: convolutions to
  XLA's own kernels instead of YNNPACK) are picked with no config field, and train the same as
  XLA's defaults: losses and parameters after 5 steps agree to float rounding. An option in the
  config replaces the pick; options for another platform are dropped; a malformed entry is named."""
  from train import bench
  from train import sharding as sharding_lib
  from train import xla_options
  from train.errors import UserError
  runs = []
  for pick in (True, False):
    config = bench.workload_config('cnn', ['--config.model.features=(4,8)',
                                           '--config.model.dense=(16,)'])
    assert config.xla_options == ()
    mesh = sharding_lib.make_mesh(config.mesh)
    run = loop.build(config, mesh, bench.WORKLOADS['cnn'].batch(0, config))
    assert run.pick_options and run.compiler_options is None
    run.pick_options = pick       # False: XLA's defaults, the plain version
    batches = [bench.WORKLOADS['cnn'].batch(s, config) for s in range(5)]
    state = run.init(batches[0])
    step = run.compiled_train_step(state, batches[0])
    assert run.compiler_options == (xla_options.CPU_CONV if pick else None)
    losses = []
    for b in batches:
      state, metrics = step(state, b)
      losses.append(float(metrics['loss']))
    runs.append((losses, jax.device_get(state.params)))
  np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-5)
  for a, b in zip(jax.tree.leaves(runs[0][1]), jax.tree.leaves(runs[1][1])):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
  # No convolution, no pick; an explicit option replaces it.
  config.xla_options = ('xla_cpu_enable_fast_math=false',)
  assert not loop.build(config, mesh, batches[0]).pick_options
  assert xla_options.for_step(jax.jit(lambda x: x @ x).lower(np.ones((2, 2))), 'cpu') is None
  assert xla_options.for_step(jax.jit(lambda x: x).lower(np.ones(2)), 'cpu') is None
  conv = lambda x: jax.lax.conv_general_dilated(  # noqa: E731
      x, np.ones((3, 3, 1, 2), np.float32), (1, 1), 'SAME',
      dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  for side, picked in ((4, None), (8, xla_options.CPU_CONV)):   # tiny maps keep XLA's defaults
    lowered = jax.jit(conv).lower(np.ones((2, side, side, 1), np.float32))
    assert xla_options.conv_input_areas(lowered.as_text()) == [side * side]
    assert xla_options.for_step(lowered, 'cpu') == picked
    assert xla_options.for_step(lowered, 'gpu') is None
  assert xla_options.parse(('xla_gpu_enable_triton_gemm=false', 'xla_cpu_ftz=true',
                            'xla_cpu_parallel_codegen_split_count=4'),
                           mesh) == {'xla_cpu_ftz': True, 'xla_cpu_parallel_codegen_split_count': 4}
  with pytest.raises(UserError, match='ynn_fusion_type'):
    xla_options.parse(('ynn_fusion_type',), mesh)


CPU_DEVICES_SCRIPT = r'''
import logging, sys
logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format='%(message)s')
import jax
from train import sharding
print('applied', sharding.use_cpu_devices(2), 'devices', jax.device_count())
print('again', sharding.use_cpu_devices(3), 'devices', jax.device_count())
'''


@pytest.mark.parametrize('xla_flags', ['', '--xla_force_host_platform_device_count=4'])
def test_cpu_devices_split_the_host_before_jax_starts(xla_flags):
  """config.cpu_devices: N CPU devices if JAX has not started its devices and XLA_FLAGS does not
  set the count; once started, the count stays and the log says the setting was not applied."""
  out = subprocess.run([sys.executable, '-c', CPU_DEVICES_SCRIPT], env={**os.environ,
                       'XLA_FLAGS': xla_flags}, capture_output=True, text=True, check=True,
                       cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__)))).stdout
  lines = out.splitlines()
  if xla_flags:
    assert lines[0] == 'applied False devices 4' and lines[-1] == 'again False devices 4', out
  else:
    assert lines[0] == 'applied True devices 2', out
    assert 'config.cpu_devices=3 not applied: JAX already started 2 CPU devices' in out, out
    assert lines[-1] == 'again False devices 2', out


def test_cpu_devices_default_is_the_engines_pick(monkeypatch):
  """config.cpu_devices = -1 (the default): two CPU devices for a Transformer or a fused RNN whose
  batches split in two on a host of >= 2 cores, trained by one process on the plain data mesh;
  JAX's one device for other families, other meshes, members, odd batches, one core; an
  explicit count is kept as given."""
  from train import sharding
  monkeypatch.setattr(os, 'sched_getaffinity', lambda pid: {0, 1})

  def cfg(name, **changes):
    c = config_lib.base_config()
    c.model.name, c.data.batch_size = name, 16
    for key, value in changes.items():
      config_lib.apply_overrides(c, [f'--config.{key}={value}'])
    return c
  assert config_lib.base_config().cpu_devices == sharding.AUTO_CPU_DEVICES
  assert sharding.cpu_devices_for(cfg('transformer')) == 2
  assert sharding.cpu_devices_for(cfg('rnn')) == 2
  for c in (cfg('cnn'), cfg('mlp'), cfg('capsnet'), cfg('transformer', **{'data.batch_size': 15}),
            cfg('transformer', **{'data.eval_batch_size': 25}), cfg('transformer', cpu_devices=0),
            cfg('transformer', **{'mesh.model': 2}), cfg('transformer', **{'vmap.seeds': (0, 1)})):
    assert sharding.cpu_devices_for(c) == 0, (c.model.name, c.data, c.mesh, c.cpu_devices)
  c = cfg('rnn')
  with c.model.unlocked():
    c.model.fused = False
  assert sharding.cpu_devices_for(c) == 0
  assert sharding.cpu_devices_for(cfg('cnn', cpu_devices=4)) == 4
  monkeypatch.setattr(os, 'sched_getaffinity', lambda pid: {0})
  assert sharding.cpu_devices_for(cfg('transformer')) == 0


def test_a_workdir_written_before_new_config_keys_still_resumes():
  """Keys the engine gained after a run's config.json was written count as their defaults; a
  key that really differs still makes it another run."""
  c = config_lib.base_config()
  saved = json.loads(config_lib.to_json(c))
  del saved['data']['augment'], saved['data']['mean'], saved['retain_freed_memory']
  assert loop.changed_keys(saved, c) == []
  with c.unlocked():
    c.data.augment = ('flip_left_right()',)
    c.data.data_dir = '/elsewhere'     # where the data is read from is not the run
  assert loop.changed_keys(saved, c) == ['data.augment']
  # a config.json that states its objective's default arguments is the same run as one that
  # leaves them out (written before they were declared)
  resolved = config_lib.from_saved(saved)
  objectives.resolve_args(resolved)
  assert resolved.objective_args and loop.changed_keys(saved, resolved) == []
  assert loop.changed_keys(json.loads(config_lib.to_json(resolved)), config_lib.base_config()) == []


def test_confusion_matrix_counts_every_real_eval_example_once():
  from train.objectives.classification import Classification
  objective = Classification(config_lib.base_config(), None, None)
  logits = np.array([[2., 0, 0], [0, 2, 0], [0, 2, 0], [0, 0, 2]], np.float32)
  batch = {'label': np.array([0, 1, 2, 2]), 'mask': np.array([1., 1, 1, 0], np.float32)}
  confusion = np.asarray(objective.eval_tables(logits, batch)['confusion'])
  # rows true, columns predicted; the padded 4th example counts nowhere
  np.testing.assert_array_equal(confusion, [[1, 0, 0], [0, 1, 0], [0, 1, 0]])
  assert objective.eval_tables(logits[None], batch) == {}   # not one class per example


def test_fsdp_shards_every_large_leaf_of_the_state(data_dir):
  """With config.sharding.fsdp every leaf of the train state of fsdp_min_size values or more
  that has a dimension divisible by the device count is split over 'data' -- the optimizer's
  moments as well as the parameters (they are 2/3 of an Adam state) -- and smaller leaves stay
  whole. Checked on the state's shardings, before any step."""
  import math
  from train import data
  from train import sharding as sharding_lib
  c = tiny(data_dir, **{'sharding.fsdp': True, 'sharding.fsdp_min_size': 64})
  mesh = sharding_lib.make_mesh(c.mesh)
  batch = data.global_batch(data.make_pipeline(c).train_batch(0),
                            sharding_lib.batch_sharding(mesh))
  run = loop.build(c, mesh, batch)
  rows = sharding_lib.describe(run.abstract_state, run.state_sharding)
  large = [r for r in rows if math.prod(r[1]) >= 64 and any(d % 8 == 0 for d in r[1])]
  assert len([r for r in large if r[0].startswith('opt_state')]) >= 2 * len(
      [r for r in large if r[0].startswith('params')]) > 0
  for path, shape, spec, per_device in rows:
    full = math.prod(shape) * 4
    if (path, shape, spec, per_device) in large:
      assert "'data'" in spec and per_device * 8 == full, (path, shape, spec)
    else:
      assert per_device == full, (path, shape, spec)


def test_pictures_keep_within_their_share_of_the_run(data_dir, tmp_path, monkeypatch):
  now = [0.0]
  budget = loop.PlotBudget(share=0.05, clock=lambda: now[0])
  assert budget.expected == 1.0
  now[0] = 10.0
  assert not budget.due()                    # 1 s expected > 5% of 10 s
  now[0] = 20.0
  assert budget.due()                        # 1 s <= 5% of 20 s
  budget.draw(lambda: now.__setitem__(0, now[0] + 2.0))   # it took 2 s
  now[0] = 50.0
  assert not budget.due()                    # 2 s spent + 2 expected > 5% of 50 s
  now[0] = 80.0
  assert budget.due()                        # 4 s <= 5% of 80 s
  # Through the loop: drawing that costs more than the steps is done at a stop and at the end,
  # not at the evaluations before.
  drawn = []

  def slow_plots(config, workdir, objective, state, pipeline, tables):
    drawn.append(int(jax.device_get(state.step)))
    clock[0] += 100.0

  clock = [0.0]   # each drawing takes 100 s of the budget's clock
  monkeypatch.setattr(loop, '_write_plots', slow_plots)
  monkeypatch.setattr(loop, 'PlotBudget', functools.partial(
      loop.PlotBudget, clock=lambda: time.perf_counter() + clock[0]))
  c = tiny(data_dir, num_steps=12, eval_every=2, ckpt_every=0)
  loop.train_and_evaluate(c, tmp_path / 'a', stop_after=8, progress=False)
  assert drawn == [8], drawn                 # the stop
  drawn.clear()
  loop.train_and_evaluate(c, tmp_path / 'a', progress=False)
  assert drawn == [12], drawn                # the end
