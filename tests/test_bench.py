"""The benchmark harness prints the JSON fields the README names (speed itself is not tested)."""

import json
import subprocess
import sys

import pytest

STEP_FIELDS = ('workload', 'median_step_s', 'examples_per_s', 'compile_s', 'flops_per_step',
               'gflops', 'hardware', 'platform', 'timed_steps', 'page_faults_per_step')


# Written out from each workload's architecture (train/bench.py's comments), not from its code:
# 3 x the forward pass's multiply-adds x 2.
@pytest.mark.parametrize('workload,flops', [
    # 784-512-512-10, batch 256
    ('mlp', 3 * 2 * 256 * (784 * 512 + 512 * 512 + 512 * 10)),
    # batch 128: conv 3x3 1->32 at 28x28, conv 3x3 32->64 at 14x14, dense 7*7*64->256, 256->10
    # = 3 * 2 * 128 * (784*32*9 + 196*64*32*9 + 3136*256 + 256*10) = 3 * 1188823040
    ('cnn', 3 * 2 * 128 * (784 * 32 * 9 + 196 * 64 * 32 * 9 + 3136 * 256 + 256 * 10)),
    # batch 128, T 100: input 2 -> 4 gates of 128, 100 recurrent 128 -> 4*128, readout 128 -> 1
    # = 3 * 2 * 128 * (100*2*512 + 100*128*512 + 128) = 3 * 1703968768
    ('lstm', 3 * 2 * 128 * (100 * 2 * 512 + 100 * 128 * 512 + 128)),
    # 16 x 128 tokens, d 256, MLP 1024, 4 layers, vocab 256; per layer q, k, v, out (4 d x d),
    # MLP (2 d x f), scores and values (2 t x d per token); = 3 * 14227079168
    ('transformer', 3 * 2 * 16 * 128 * (4 * (4 * 256 * 256 + 2 * 256 * 1024 + 2 * 128 * 256)
                                        + 256 * 256))])
@pytest.mark.slow  # in CI (.ci/run): keeps the default run under 10 minutes
def test_step_benchmark_json(workload, flops):
  r = subprocess.run([sys.executable, '-m', 'train.bench', '--workload', workload, '--steps', '3',
                      '--warmup', '1'], capture_output=True, text=True, timeout=300)
  assert r.returncode == 0, r.stderr[-2000:]
  line = json.loads(r.stdout.strip().splitlines()[-1])
  for field in STEP_FIELDS:
    assert field in line, field
  assert line['workload'] == workload and line['flops_per_step'] == flops
  assert line['timed_steps'] == 3 and line['median_step_s'] > 0
  assert abs(line['gflops'] - flops / line['median_step_s'] / 1e9) < 1e-6 * line['gflops']
  # It is really training: both losses are on batch 0 (the warm-up step's, then the last of the
  # timed steps 0, 1, 0), before and after three Adam updates, two of them on that batch; a step
  # that updated nothing would give the same loss to the last bit.
  assert line['loss_last'] < line['loss_after_warmup']


def test_timer_counts_the_pages_a_step_maps_afresh():
  import mmap
  from train import bench
  pages = 2048                                      # 8 MB of 4 KB pages
  def fresh():                                      # what glibc does to a block it maps anew
    m = mmap.mmap(-1, pages * mmap.PAGESIZE)
    m[::mmap.PAGESIZE] = b'x' * pages               # touch every page: one fault each
    m.close()
  kept = bytearray(pages * mmap.PAGESIZE)           # the same pages, already mapped
  def reuse():
    kept[::mmap.PAGESIZE] = b'x' * pages
  counts = {}
  for name, fn in (('fresh', fresh), ('reuse', reuse)):
    with bench.Timer() as timer:
      for _ in range(5):
        timer.lap(fn)
    counts[name] = timer.summary()['page_faults_per_step']
  assert counts['fresh'] >= pages // 2 and counts['reuse'] < pages // 20, counts


def test_input_only_json(data_dir):
  r = subprocess.run([sys.executable, '-m', 'train.bench', '--workload', 'cnn', '--input-only',
                      '--steps', '5'], capture_output=True, text=True, timeout=300)
  assert r.returncode == 0, r.stderr[-2000:]
  line = json.loads(r.stdout.strip().splitlines()[-1])
  assert line['input_only'] and line['data'] == 'nnzoo_digits' and line['examples_per_s'] > 0


@pytest.mark.slow  # in CI (.ci/run): keeps the default run under 10 minutes
def test_side_by_side_times_a_reference_command_in_alternation(tmp_path):
  """--reference runs the other framework's command between our rounds and reports the ratio."""
  fake = tmp_path / 'fake_reference.py'
  fake.write_text('import json, sys\n'
                  'assert sys.argv[1:3] == ["--steps", "2"], sys.argv\n'
                  'open(sys.argv[0] + ".calls", "a").write("x")\n'
                  'print("warming up")\n'
                  'print(json.dumps({"median_s": 0.25, "framework": "fake"}))\n')
  r = subprocess.run([sys.executable, '-m', 'train.bench', '--workload', 'mlp', '--steps', '4',
                      '--warmup', '1', '--rounds', '2', '--reference', f'{sys.executable} {fake}',
                      '--config.model.hidden=(16,)'],
                     capture_output=True, text=True, timeout=300)
  assert r.returncode == 0, r.stderr[-2000:]
  line = json.loads(r.stdout.strip().splitlines()[-1])
  assert (tmp_path / 'fake_reference.py.calls').read_text() == 'xx'     # one call per round
  assert line['reference']['median_step_s'] == 0.25 and line['reference']['framework'] == 'fake'
  assert line['rounds'] == 2 and line['overrides'] == ['--config.model.hidden=(16,)']
  assert abs(line['speedup_vs_reference'] - 0.25 / line['median_step_s']) < 1e-9


def test_bench_rejects_unknown_lever_with_nearest_keys():
  r = subprocess.run([sys.executable, '-m', 'train.bench', '--workload', 'lstm',
                      '--config.model.fusd=False'], capture_output=True, text=True, timeout=120)
  assert r.returncode != 0
  assert 'fused' in r.stderr and 'fusd' in r.stderr


def test_transformer_shapes_and_flops_follow_config_overrides():
  """The LM workloads take their batch and FLOPs from the config, so a lever that resizes the model
  (or the accelerator-sized `transformer_large`) is counted right."""
  from train import bench
  c = bench.workload_config('transformer_large', [
      '--config.model.max_len=64', '--config.model.d_model=128', '--config.model.num_heads=2',
      '--config.model.mlp_dim=256', '--config.model.num_layers=3', '--config.data.batch_size=2'])
  b, t, d, f, v, layers = 2, 64, 128, 256, 256, 3
  per_layer = 4 * 2 * b * t * d * d + 2 * 2 * b * t * d * f + 2 * 2 * b * t * t * d
  assert (bench.WORKLOADS['transformer_large'].forward_flops(c)
          == layers * per_layer + 2 * b * t * d * v)
  assert bench.WORKLOADS['transformer_large'].batch(0, c)['tokens'].shape == (2, 65)
  assert c.model.dtype == 'bfloat16' and c.model.attention == 'cudnn'


def test_fixed_shape_workload_rejects_a_batch_override():
  r = subprocess.run([sys.executable, '-m', 'train.bench', '--workload', 'mlp',
                      '--config.data.batch_size=32'], capture_output=True, text=True, timeout=120)
  assert r.returncode == 2 and 'fixed batch of 256' in r.stderr, r.stderr[-2000:]


def test_record_from_adds_another_machines_lines(tmp_path, monkeypatch):
  """Lines measured elsewhere (experiments/bench/gpu.sh on a lent GPU) join the table's records,
  replacing the same workload, levers and hardware."""
  from experiments import record_bench
  monkeypatch.setattr(record_bench, 'RESULTS', str(tmp_path / 'results.jsonl'))
  row = {'workload': 'mlp', 'hardware': 'NVIDIA H100 80GB HBM3 x1 (gpu)', 'overrides': [],
         'median_step_s': 0.001}
  lines = tmp_path / 'gpu.jsonl'
  lines.write_text(json.dumps(row) + '\n' + json.dumps({**row, 'median_step_s': 0.002}) + '\n')
  assert record_bench.main(['--from', str(lines)]) == 0
  rows = [json.loads(l) for l in open(record_bench.RESULTS)]
  assert rows == [{**row, 'median_step_s': 0.002}]


@pytest.mark.slow  # in CI (.ci/run): keeps the default run under 10 minutes
def test_steps_per_call_lever_runs_the_same_steps():
  """compiled_multi_step (lax.scan over K stacked batches) == K calls of the one-step function."""
  import jax
  import numpy as np
  from train import bench, loop
  from train import sharding as sharding_lib
  config = bench.workload_config('mlp', ['--config.model.hidden=(32,)'])
  mesh = sharding_lib.make_mesh(config.mesh)
  host = [bench.WORKLOADS['mlp'].batch(seed, config) for seed in range(3)]
  run = loop.build(config, mesh, host[0])
  one = run.compiled_train_step(run.init(host[0]), host[0])
  state = run.init(host[0])
  for b in host:
    state, metrics = one(state, b)
  stacked = jax.tree.map(lambda *a: np.stack(a), *host)
  multi = run.compiled_multi_step(run.init(host[0]), stacked)
  state3, metrics3 = multi(run.init(host[0]), stacked)
  for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(state3)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(metrics['loss'], metrics3['loss'], rtol=1e-5)


@pytest.mark.slow   # two processes of python -m train (~20 s): CI's slow step
def test_time_to_accuracy_stops_at_the_target_and_compares_a_reference(data_dir, tmp_path):
  """--time-to trains the config in a fresh process, stops at the first eval >= target, and
  times a reference command given each seed."""
  fake = tmp_path / 'fake_reference.py'
  fake.write_text('import json, sys\n'
                  'seed = int(sys.argv[sys.argv.index("--seed") + 1])\n'
                  'print(json.dumps({"epoch": 1, "test_accuracy": 0.5}))\n'
                  'print(json.dumps({"time_to_target_s": 10.0 + seed}))\n')
  r = subprocess.run([sys.executable, '-m', 'train.bench', '--time-to', '0.3', '--config',
                      'experiments/zoo/cnn_digits.py:tiny', '--max-epochs', '40', '--seeds', '0,1',
                      '--reference', f'{sys.executable} {fake}',
                      f'--config.data.data_dir={data_dir}',
                      '--config.plots=False'],
                     capture_output=True, text=True, timeout=600)
  assert r.returncode == 0, r.stderr[-2000:]
  line = json.loads(r.stdout.strip().splitlines()[-1])
  runs = line['runs']
  assert [run['seed'] for run in runs] == [0, 1]
  for run in runs:
    # Stopped at the first epoch that reached the target: every earlier one is below it.
    assert run['accuracy_per_epoch'][run['epochs'] - 1] >= 0.3
    assert all(a < 0.3 for a in run['accuracy_per_epoch'][:run['epochs'] - 1])
    assert run['epochs'] < 40 and 0 < run['time_to_target_s'] <= run['process_s']
    parts = run['breakdown_s']
    assert set(parts) == {'startup_and_data', 'compile', 'steps', 'evals', 'other'}
    assert abs(sum(parts.values()) - run['time_to_target_s']) < 0.05
    assert parts['steps'] > 0 and parts['compile'] > 0
  # The median of two runs is their mean.
  assert abs(line['time_to_target_s'] - sum(run['time_to_target_s'] for run in runs) / 2) < 0.01
  assert line['reference']['time_to_target_s'] == 10.5   # median of 10 and 11
  assert line['ratio_vs_reference'] == round(line['time_to_target_s'] / 10.5, 3)
  # The measuring process's malloc settings are not the timed runs': not in the line.
  assert 'retain_freed_memory' not in line and 'host_one_heap' not in line


def test_time_to_accuracy_refuses_bad_flags(capsys):
  from train import bench
  for args, message in ((['--time-to', '0.9'], '--time-to needs --config'),
                        (['--time-to', '1.5', '--config', 'experiments/zoo/cnn_digits.py'],
                         'must be in (0, 1]'),
                        (['--config', 'experiments/zoo/cnn_digits.py'], '--config goes with')):
    try:
      code = bench._main(args)
    except SystemExit as e:   # argparse's errors
      code = e.code
    assert code == 2 and message in capsys.readouterr().err
