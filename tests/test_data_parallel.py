"""A data-parallel step moves only gradients between devices: one all-reduce, no activation gathers.

A reshape that merges the sharded batch axis with another one (say [T, B, H] -> [T*B, H]) makes
XLA's partitioner gather the whole activation onto every device and repeat the work there; the
program still runs and gives the same numbers, only slower with every device added. This compiles
each benchmark workload's train step over the test session's 8 devices and reads the collectives.
"""

import re

import jax
import pytest

from train import bench
from train import loop
from train import sharding as sharding_lib

COLLECTIVE = re.compile(r'= (.*?) (all-gather|all-to-all|collective-permute|reduce-scatter|'
                        r'all-reduce)(-start)?\(')


def _computations(hlo_text):
  """{computation name: its lines} of a compiled module's text."""
  comps, name = {}, None
  for line in hlo_text.splitlines():
    m = re.match(r'^(?:ENTRY )?(%[\w.\-]+) ', line)
    if m:
      name = m.group(1)
      comps[name] = []
    elif name:
      comps[name].append(line)
  return comps


def _loop_lines(hlo_text):
  """The lines of every while loop's body and of whatever it calls."""
  comps = _computations(hlo_text)
  inside, todo = set(), re.findall(r'body=(%[\w.\-]+)', hlo_text)
  while todo:
    name = todo.pop()
    if name in inside or name not in comps:
      continue
    inside.add(name)
    for line in comps[name]:
      todo += re.findall(r'(?:calls|to_apply|body|condition|computations?)=\{?(%[\w.\-]+)', line)
  return [line for name in inside for line in comps[name]]


def collectives(hlo_text, in_loops=False):
  """[(kind, result type, op_name)] of every collective in a compiled module's text (only those
  inside while loops when in_loops)."""
  found = []
  for line in (_loop_lines(hlo_text) if in_loops else hlo_text.splitlines()):
    m = COLLECTIVE.search(line)
    if m:
      op = re.search(r'op_name="([^"]*)"', line)
      found.append((m.group(2), m.group(1), op.group(1)[:160] if op else ''))
  return found


DTYPE_BYTES = {'pred': 1, 's8': 1, 'u8': 1, 'bf16': 2, 'f16': 2, 's16': 2, 'u16': 2, 'f32': 4,
               's32': 4, 'u32': 4, 'f64': 8, 's64': 8, 'u64': 8}


def result_bytes(hlo_type):
  """Bytes of an HLO result type: 'f32[64,10]{1,0}', or a tuple of such."""
  total = 0
  for dtype, dims in re.findall(r'([a-z]+\d*)\[([\d,]*)\]', hlo_type):
    n = DTYPE_BYTES[dtype]
    for d in filter(None, dims.split(',')):
      n *= int(d)
    total += n
  return total


@pytest.mark.parametrize('workload', [
    'mlp', 'cnn', 'lstm',
    # ~12 s of compiling together; CI also checks every experiment config
    # (tests/test_experiments.py)
    pytest.param('transformer', marks=pytest.mark.slow),
    pytest.param('capsnet', marks=pytest.mark.slow)])
def test_data_parallel_step_communicates_only_gradients(workload):
  assert jax.device_count() == 8
  config = bench.workload_config(workload, [])
  mesh = sharding_lib.make_mesh(config.mesh)
  assert mesh.shape['data'] == 8
  batch = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype),
                       bench.WORKLOADS[workload].batch(0, config))
  run = loop.build(config, mesh, batch)
  found = collectives(run.compiled_train_step(run.abstract_state, batch).as_text())
  kinds = [kind for kind, _, _ in found]
  assert kinds and set(kinds) == {'all-reduce'}, '\n'.join(map(str, found))


@pytest.mark.parametrize('cell,fused', [('rnn', True), ('lstm', True), ('gru', True),
                                        ('lstm', False)])
def test_recurrent_weight_gradient_is_reduced_once_not_every_time_step(cell, fused):
  """Autodiff of a scan accumulates dU = sum_t h_{t-1}^T dz_t inside the reverse loop; with the
  batch split over devices each term is a partial sum, so XLA all-reduces it at every time step
  (100 all-reduces a step: a GRU on two CPU devices ran 3x slower than on one). The fused layers
  (models/rnn_fused.py) contract over time and batch after the loop: one all-reduce in all."""
  config = bench.workload_config('lstm', [f'--config.model.cell={cell}',
                                          f'--config.model.fused={fused}'])
  mesh = sharding_lib.make_mesh(config.mesh)
  batch = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype),
                       bench.WORKLOADS['lstm'].batch(0, config))
  run = loop.build(config, mesh, batch)
  text = run.compiled_train_step(run.abstract_state, batch).as_text()
  in_loops = collectives(text, in_loops=True)
  if fused:
    assert not in_loops, '\n'.join(map(str, in_loops))
  else:   # the plain scan, kept for masked (variable-length) layers, still does it
    assert [kind for kind, _, _ in in_loops] == ['all-reduce']
