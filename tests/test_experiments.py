"""Every experiment config loads and builds; records are complete; reproduce passes and fails
as it should; the README tables come from recorded results."""

import glob
import json
import os
import subprocess
import sys

import jax
import pytest
import tensorflow_datasets as tfds

from experiments import records
from experiments import reproduce
from train import config as config_lib
from train import data
from train import loop
from train import sharding as sharding_lib
from train import datasets
from train.datasets import LOCAL_BUILDERS

from tests.test_data_parallel import collectives
from tests.test_data_parallel import result_bytes

CONFIGS = sorted(p for p in glob.glob('experiments/*/*.py')
                 if not os.path.basename(p).startswith('_') and 'def get_config' in open(p).read())


def _args(path):
  module = config_lib.load_config_module(path)
  args = ['']
  if hasattr(module, 'get_record'):
    args.append(module.get_record().full_config_arg)
  return args


def build_small(path, arg, data_dir):
  """(run, batch) of an experiment config on a small batch of its data (offline data, or
  tfds' mock data for real TFDS names), over the test session's 8 devices."""
  c = config_lib.load(f'{path}:{arg}' if arg else path)
  config_lib.validate(c)
  with c.unlocked():
    # generated offline sets are built; TFDS names and file-based sets (fashion_mnist) are mocked
    offline = c.data.name.split('/')[0] in LOCAL_BUILDERS and not datasets.from_files(c.data.name)
    if not offline or c.data.batch_size % jax.device_count():
      c.data.batch_size = 8   # mock data, or a batch the 8 test devices cannot split
    c.data.eval_batch_size = 8
    c.data.cache = False
    if offline:
      c.data.data_dir = data_dir
  mesh = sharding_lib.make_mesh(c.mesh)
  with tfds.testing.mock_data(num_examples=16):
    pipeline = data.make_pipeline(c)
    batch = data.global_batch(pipeline.train_batch(0), sharding_lib.batch_sharding(mesh))
  return loop.build(c, mesh, batch), batch


@pytest.mark.parametrize('path', CONFIGS)
def test_config_loads_and_builds(path, data_dir):
  """Loads each config (default and full-scale), and builds model, objective and state shapes on
  a small batch of its data."""
  for arg in _args(path):
    run, _ = build_small(path, arg, data_dir)
    assert jax.tree.leaves(run.abstract_state.params), f'{path}:{arg} has no parameters'


@pytest.mark.slow  # compiles every experiment's step: ~2 minutes, in CI (.ci/run)
@pytest.mark.parametrize('path', CONFIGS)
def test_data_parallel_step_gathers_no_activations(path, data_dir):
  """Over a data-parallel mesh, an experiment's step may all-reduce (gradients, batch statistics)
  but gathers nothing bigger than a few logits (the top-k of the multi-digit loss, a GAN's 2-D
  samples): an all-gather that grows with the batch would repeat the work on every device (see
  tests/test_data_parallel.py)."""
  run, batch = build_small(path, '', data_dir)
  found = collectives(run.compiled_train_step(run.abstract_state, batch).as_text())
  assert found, f'{path}: no collective at all on {jax.device_count()} devices'
  big = [f for f in found if f[0] != 'all-reduce' and result_bytes(f[1]) > 16 * 1024]
  assert not big, '\n'.join(map(str, big))


@pytest.mark.parametrize('path', CONFIGS)
def test_record_is_complete(path):
  module = config_lib.load_config_module(path)
  assert hasattr(module, 'get_record'), f'{path} states no paper claim (get_record)'
  r = module.get_record()
  assert isinstance(r, records.Record) and r.paper.year > 1900 and r.paper.url.startswith('http')
  assert r.paper_value and r.full_hardware and r.full_time and r.claim.statement
  assert r.claim.direction in ('>=', '<=') and r.claim.seeds


CI_MINUTES = 3.0   # .ci/run: NNZOO_CLAIM_MINUTES=3

# Claims CI would run that cannot be recorded yet, and what they wait for; tests/test_claims.py
# skips a claim without a record. An entry must be removed once its record is made.
AWAITING_RECORD = {}


def test_every_claim_ci_runs_was_recorded_as_it_now_reads_with_a_margin_of_2():
  """A claim that CI runs must not be one rounding away from flipping (a margin of 2 std over
  its seeds, on the host that recorded it), and its record must be of the claim as it reads now
  (threshold, direction, seeds): a restated claim is recorded again."""
  problems, checked = [], 0
  for path in CONFIGS:
    claim = config_lib.load_config_module(path).get_record().claim
    if claim.minutes > CI_MINUTES:
      continue
    checked += 1
    result_path = reproduce.results_path(path)
    if path in AWAITING_RECORD:
      if result_path.exists():
        problems.append(f'{path}: recorded, so off AWAITING_RECORD')
      continue
    if not result_path.exists():
      problems.append(f'{path}: CI runs its claim, but it has no record ({result_path})')
      continue
    r = json.loads(result_path.read_text())
    if (r['threshold'], r['direction'], r['seeds']) != (
        claim.threshold, claim.direction, list(claim.seeds)):
      problems.append(f'{path}: the record is of another claim (threshold, direction, seeds)')
    margin = records.margin(r['mean'], r['std'], r['threshold'], r['direction'])
    if margin < 2:
      problems.append(f'{path}: recorded margin {margin:.2f} < 2 ({r["values"]} vs '
                      f'{r["direction"]} {r["threshold"]})')
  assert checked >= 10 and not problems, '\n'.join(problems)


@pytest.mark.slow  # 10-35 s: in CI (.ci/run), out of the 10-minute default run
def test_reproduce_passes_on_the_default_experiment(data_dir, tmp_path):
  rc = reproduce.main(['experiments/zoo/cnn_digits.py', '--workdir', str(tmp_path), '--seeds', '0'])
  assert rc == 0
  result = json.loads((tmp_path / 'reproduce.json').read_text())
  assert result['passed'] and result['mean'] >= 0.97 and result['values'] == [result['mean']]
  for key in ('paper', 'paper_value', 'our_setting', 'threshold', 'commit', 'hardware', 'command'):
    assert result[key]


@pytest.mark.slow  # in CI (.ci/run), not in the 10-minute default run
def test_impossible_claim_fails_with_exit_1_and_says_why(data_dir, tmp_path):
  cmd = [sys.executable, '-m', 'experiments.reproduce', 'experiments/zoo/cnn_digits.py',
         '--workdir', str(tmp_path), '--seeds', '0', '--threshold', '1.01',
         '--config.num_steps=20', f'--config.data.data_dir={data_dir}']
  r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
  assert r.returncode == 1, r.stderr[-2000:]
  assert 'FAIL (test accuracy' in r.stdout and 'is not >= 1.01' in r.stdout


def test_readme_tables_are_generated_from_recorded_results():
  r = subprocess.run([sys.executable, '-m', 'experiments.report', '--check'], capture_output=True,
                     text=True, timeout=120)
  assert r.returncode == 0, r.stdout + r.stderr


def test_adding_study_table_counts_the_seeds_each_cell_solves(monkeypatch, tmp_path):
  """The sequence study's table: solved = test MSE <= 0.03, per cell and length, from its runs."""
  from experiments.sequence import adding_study
  mse = {('rnn', 100): [0.02, 0.1], ('lstm', 100): [0.001, 0.002], ('rnn', 200): [0.17, 0.17],
         ('lstm', 200): [0.03, 0.031]}
  monkeypatch.setattr(adding_study, 'test_mse',
                      lambda cell, length, seed, workdir: mse[cell, length][seed])
  result = adding_study.run(tmp_path, ('rnn', 'lstm'), (100, 200), (0, 1))
  table = adding_study.markdown(result)
  assert '| tanh RNN | 1/2 (0.06) | 0/2 (0.17) |' in table
  assert '| LSTM | 2/2 (0.0015) | 1/2 (0.0305) |' in table
  assert adding_study._ints('0-2,5') == (0, 1, 2, 5)
