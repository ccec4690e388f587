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


def collectives(hlo_text):
  """[(kind, result type, op_name)] of every collective in a compiled module's text."""
  found = []
  for line in hlo_text.splitlines():
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


@pytest.mark.parametrize('workload', ['mlp', 'cnn', 'lstm', 'transformer', 'capsnet'])
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
