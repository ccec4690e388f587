"""Tensor parallelism for the Transformer: heads and MLP units over 'model' halve those leaves per
device, and the run trains exactly like the data-parallel one."""

import numpy as np
import pytest

from train import config as config_lib
from train import data
from train import loop
from train import sharding
from train import sharding_report

CONFIG = 'experiments/sequence/transformer_chars.py:tiny'


def load(*overrides, tp=False):
  c = config_lib.load(CONFIG)
  config_lib.apply_overrides(c, ['--config.num_steps=6', '--config.log_every=1',
                                 '--config.plots=False', '--config.model.dropout=0.0',
                                 '--config.model.num_layers=1', *overrides])
  if tp:
    with c.unlocked():
      c.mesh.data, c.mesh.model = 4, 2
      c.sharding.rules = sharding.TRANSFORMER_TENSOR_PARALLEL
  return c


@pytest.mark.slow  # 10-35 s: in CI (.ci/run), out of the 10-minute default run
def test_tensor_parallel_splits_heads_and_mlp_and_trains_like_data_parallel(data_dir):
  rows, mesh = sharding_report.report_rows(load(tp=True))
  assert dict(mesh.shape) == {'data': 4, 'model': 2}
  by_path = {r[0]: r for r in rows}
  for path, spec in (('params/blocks_0/attn/query/kernel', "P(None, 'model', None)"),
                     ('params/blocks_0/attn/out/kernel', "P('model', None, None)"),
                     ('params/blocks_0/mlp_in/kernel', "P(None, 'model')"),
                     ('params/blocks_0/mlp_out/kernel', "P('model', None)"),
                     ('opt_state/0/mu/blocks_0/attn/query/kernel', "P(None, 'model', None)")):
    matches = [r for p, r in by_path.items() if p.endswith(path.split('/', 1)[1]) and
               p.startswith(path.split('/', 1)[0])]
    assert matches, path
    _, _, got, per_device, whole = matches[0]
    assert got == spec and per_device * 2 == whole, (path, got)
  assert by_path['params/head/kernel'][3] == by_path['params/head/kernel'][4]   # replicated

  # The loop's own pieces (build, init, the compiled train step) without its checkpoint and eval,
  # which would triple the time of this test.
  np.testing.assert_allclose(train_losses(load(tp=True)), train_losses(load()), rtol=1e-4)


def train_losses(config, steps=6):
  mesh = sharding.make_mesh(config.mesh)
  batch_sharding = sharding.batch_sharding(mesh)
  pipeline = data.make_pipeline(config)
  first = data.global_batch(pipeline.train_batch(0), batch_sharding)
  run = loop.build(config, mesh, first)
  state = run.init(first)
  step = run.compiled_train_step(state, first)
  out = []
  for s in range(steps):
    state, metrics = step(state, data.global_batch(pipeline.train_batch(s), batch_sharding))
    out.append(float(metrics['loss']))
  assert out[-1] < out[0]
  return out
