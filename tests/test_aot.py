"""launch/aot.py: the real train step compiles for TPU slices on this CPU machine, and a step that
cannot fit is refused. Needs libtpu (pip install -e .[tpu-aot]); skipped without it, except where
NNZOO_REQUIRE_LIBTPU=1 (CI, after installing it): there a missing libtpu fails."""

import importlib.util
import os

import pytest

if importlib.util.find_spec('libtpu') is None:
  if os.environ.get('NNZOO_REQUIRE_LIBTPU'):
    pytest.fail('NNZOO_REQUIRE_LIBTPU is set but libtpu is not installed (pip install -e '
                '.[tpu-aot])', pytrace=False)
  pytest.skip('libtpu is not installed (pip install -e .[tpu-aot])', allow_module_level=True)

from launch import aot  # noqa: E402
from tests.overrides import load  # noqa: E402

# Full-scale configs that must compile for a TPU slice (add new families' full configs here).
FULL_CONFIGS = ['experiments/zoo/cnn_digits.py:full']
HUGE_MLP = ['--config.model.name=mlp', '--config.model.variant=bench',
            '--config.model.hidden=(32768,32768)']   # ~1.1e9 params: 16 GiB with Adam's moments


@pytest.mark.parametrize('spec', FULL_CONFIGS)
def test_full_config_compiles_for_one_host_slice(spec):
  r = aot.check(load(spec), 'v5e:2x2')
  assert (r.chips, r.hosts) == (4, 1) and r.mesh['data'] == 4
  assert 0 < r.argument_bytes and r.temp_bytes > 0 and r.flops > 0
  assert r.fits(0.95) and 'FITS' in r.format(0.95)


@pytest.mark.parametrize('spec', FULL_CONFIGS)
def test_full_config_compiles_for_a_multi_host_slice(spec):
  r = aot.check(load(spec), 'v5e:4x4')
  assert (r.chips, r.hosts) == (16, 4) and r.mesh['data'] == 16
  assert r.fits(0.95)


def test_a_step_that_cannot_fit_fails_loudly(capsys):
  # Too big for the compiler itself: RESOURCE_EXHAUSTED becomes exit code 1 and DOES NOT FIT.
  assert aot.main(['--config', 'experiments/zoo/cnn_digits.py:full', '--topology', 'v5e:2x2',
                   *HUGE_MLP]) == 1
  assert 'DOES NOT FIT' in capsys.readouterr().out
  # Compiles, but over the HBM given: the report refuses it.
  r = aot.check(load('experiments/zoo/cnn_digits.py:full', '--config.model.name=mlp',
                     '--config.model.variant=bench', '--config.model.hidden=(8192,8192)'),
                'v5e:2x2', hbm_gib=0.5)
  assert r.total_bytes > 0.5 * aot.GIB and not r.fits(0.95)
  assert 'DOES NOT FIT' in r.format(0.95)


def test_a_step_that_fits_only_when_sharded_is_accepted_near_the_limit():
  """An MLP of 74M parameters with Adam on a v5e:2x2 slice given 0.25 GiB of HBM a chip: FSDP
  over the 4 chips holds a quarter of its 3 x 4 bytes a parameter (0.21 GiB, 84% of the HBM, under
  the 95% limit); replicated it needs 1.1 GiB. The same report must accept the one and refuse the
  other, and state the FSDP step's size within 5% of the arithmetic."""
  mlp = ['--config.model.name=mlp', '--config.model.variant=bench',
         '--config.model.hidden=(8192,8192)']
  params = 784 * 8192 + 8192 + 8192 * 8192 + 8192 + 8192 * 10 + 10
  sharded = aot.check(load('experiments/zoo/cnn_digits.py:full', *mlp,
                           '--config.sharding.fsdp=True'), 'v5e:2x2', hbm_gib=0.25)
  assert sharded.fits(0.95) and sharded.total_bytes > 0.75 * sharded.hbm_bytes
  assert abs(sharded.argument_bytes - 3 * 4 * params / 4) < 0.05 * sharded.argument_bytes
  assert 'FITS' in sharded.format(0.95)
  replicated = aot.check(load('experiments/zoo/cnn_digits.py:full', *mlp), 'v5e:2x2',
                         hbm_gib=0.25)
  assert not replicated.fits(0.95) and replicated.argument_bytes > 3.5 * sharded.argument_bytes


def test_bad_topology_is_a_user_error():
  from train.errors import UserError
  with pytest.raises(UserError, match='topology'):
    aot.parse_topology('v5e')
  with pytest.raises(UserError, match='HBM'):
    aot.check(load('experiments/zoo/cnn_digits.py:full'), 'v9z:2x2')


# The full-scale Transformer and CapsNet take minutes each to compile on 2 shared cores: slow.
SLOW_FULL_CONFIGS = ['experiments/sequence/transformer_chars.py:full',
                     'experiments/capsnet/capsnet_digits.py:full']


@pytest.mark.slow
@pytest.mark.parametrize('topology,hosts', [('v5e:2x2', 1), ('v5e:4x4', 4)])
@pytest.mark.parametrize('spec', SLOW_FULL_CONFIGS)
def test_full_scale_models_compile_for_tpu_slices(spec, topology, hosts, data_dir):
  r = aot.check(load(spec), topology)
  assert r.hosts == hosts and r.fits(0.95) and r.flops > 0


@pytest.mark.slow
def test_tensor_parallel_transformer_compiles_for_a_multi_host_slice(data_dir):
  from train import sharding
  c = load('experiments/sequence/transformer_chars.py:full')
  with c.unlocked():
    c.mesh.data, c.mesh.model = -1, 4
    c.sharding.rules = sharding.TRANSFORMER_TENSOR_PARALLEL
  r = aot.check(c, 'v5e:4x4')
  assert r.mesh == {'data': 4, 'model': 4} and r.hosts == 4 and r.fits(0.95)


def test_bench_tpu_estimate_compiles_the_benchmarked_step():
  """`train.bench --tpu-estimate` compiles the same step the CPU numbers time, for a v5e slice."""
  from train import bench
  r = bench.tpu_estimate('mlp', 'v5e:2x2')
  flops = bench.WORKLOADS['mlp'].forward_flops(bench.workload_config('mlp'))
  expected = 3 * flops / 4     # per chip: the batch is split 4 ways
  assert r['estimate'] and r['chips'] == 4 and r['topology'] == 'v5e:2x2'
  # 3x forward minus the input gradient nobody needs (first layer), plus Adam's elementwise work.
  assert 0.7 * expected <= r['xla_flops_per_chip'] < 1.3 * expected
  assert r['roofline_step_s'] > 0 and r['bound'] in ('compute', 'memory')
