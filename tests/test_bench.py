"""The benchmark harness prints the JSON fields the issues name (speed itself is not tested)."""

import json
import subprocess
import sys

import pytest

STEP_FIELDS = ('workload', 'median_step_s', 'examples_per_s', 'compile_s', 'flops_per_step',
               'gflops', 'hardware', 'platform', 'timed_steps')


@pytest.mark.parametrize('workload,flops', [('mlp', 3 * 2 * 256 * (784 * 512 + 512 * 512 + 512 * 10)),
                                            ('cnn', 3566469120)])
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
  assert line['loss_last'] < line['loss_after_warmup'] + 1.0   # it is really training


def test_input_only_json(data_dir):
  r = subprocess.run([sys.executable, '-m', 'train.bench', '--workload', 'cnn', '--input-only',
                      '--steps', '5'], capture_output=True, text=True, timeout=300)
  assert r.returncode == 0, r.stderr[-2000:]
  line = json.loads(r.stdout.strip().splitlines()[-1])
  assert line['input_only'] and line['data'] == 'nnzoo_digits' and line['examples_per_s'] > 0
