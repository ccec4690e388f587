"""The sharding report: every leaf with its spec and bytes per device; FSDP shows ~1/8."""

from tests.overrides import load
from train import sharding_report
from train import shapes


def group_bytes(rows, group):
  return (sum(r[3] for r in rows if r[0].startswith(group + '/')),
          sum(r[4] for r in rows if r[0].startswith(group + '/')))


def test_fsdp_report_shows_an_eighth_per_device(data_dir):
  replicated, mesh = sharding_report.report_rows(load('experiments/zoo/cnn_digits.py'))
  fsdp, _ = sharding_report.report_rows(load('experiments/zoo/cnn_digits.py',
                                             '--config.sharding.fsdp=True'))
  per_device, whole = group_bytes(replicated, 'params')
  assert per_device == whole > 0
  per_device, whole_fsdp = group_bytes(fsdp, 'params')
  assert whole_fsdp == whole and per_device < 0.2 * whole   # ~1/8 plus small replicated biases
  kernel = {r[0]: r for r in fsdp}['params/Dense_0/kernel']
  assert kernel[1] == (256, 256) and "'data'" in kernel[2] and kernel[3] == 256 * 256 * 4 // 8
  text = sharding_report.format_report(fsdp, mesh)
  assert 'params/Dense_0/kernel' in text and 'opt_state' in text and "'data': 8" in text


def test_full_config_shapes_come_from_mock_data_offline():
  # mnist is not on this machine: its shapes come from tfds' mock data, never the network.
  c = load('experiments/zoo/cnn_digits.py:full')
  example = shapes.example(c)
  assert example['image'].shape == (1, 28, 28, 1) and str(example['image'].dtype) == 'float32'
