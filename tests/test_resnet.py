"""ResNet / WRN: the papers' parameter counts, shapes, batch statistics in train and eval mode, a
fast-compiling tiny row, and a few engine steps on the digits."""

import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models import resnet
from train import config as config_lib
from train import loop
from train import metrics as metrics_lib


def make(variant, **fields):
  cls, row = resnet.VARIANTS[variant]
  return cls(**{**row, **fields})


def count(tree):
  return sum(int(np.prod(x.shape)) for x in jax.tree.leaves(tree))


def variables_like(model, x, seed=0):
  """Variables of init's shapes filled from numpy (kernels ~ N(0, 2 / fan-in), BN scale 1 and
  shift 0, running mean 0 and variance 1): no jitted init, whose compile alone costs seconds."""
  rng = np.random.default_rng(seed)

  def fill(path, leaf):
    name = path[-1].key
    if name in ('scale', 'var'):
      return jnp.ones(leaf.shape, leaf.dtype)
    if name in ('bias', 'mean'):
      return jnp.zeros(leaf.shape, leaf.dtype)
    fan_in = int(np.prod(leaf.shape[:-1]))
    return jnp.asarray(rng.normal(0, np.sqrt(2 / fan_in), leaf.shape), leaf.dtype)

  abstract = jax.eval_shape(model.init, jax.random.PRNGKey(0), x)
  return jax.tree_util.tree_map_with_path(fill, abstract)


def shapes(variant, input_shape=(1, 32, 32, 3), **fields):
  """Variables' shapes from `jax.eval_shape` of init: no arrays, no forward pass."""
  return jax.eval_shape(make(variant, **fields).init, jax.random.PRNGKey(0),
                        jax.ShapeDtypeStruct(input_shape, jnp.float32))


@pytest.mark.parametrize('variant, stem, input_shape, num_classes, params', [
    # CIFAR ResNet-18 (3x3 stem, bias-free convs, BN scale + shift): the widely quoted 11,173,962.
    ('resnet18', 'cifar', (1, 32, 32, 3), 10, 11_173_962),
    # Table 1's ImageNet ResNet-18 (7x7/2 stem + max-pool, 1000 classes): torchvision's 11,689,512.
    ('resnet18', 'imagenet', (1, 224, 224, 3), 1000, 11_689_512),
    ('resnet18_quarter', 'cifar', (1, 32, 32, 3), 10, 701_466),
    # WRN-28-10: "36.5M" (Zagoruyko & Komodakis 2016, Table 4).
    ('wrn28_10', 'cifar', (1, 32, 32, 3), 10, 36_479_194),
])
def test_parameter_counts_are_the_papers(variant, stem, input_shape, num_classes, params):
  v = shapes(variant, input_shape, stem=stem, num_classes=num_classes)
  assert count(v['params']) == params
  assert set(v) == {'params', 'batch_stats'}


def test_wrn_is_pre_activation_with_bare_projections():
  p = shapes('wrn28_10')['params']
  assert round(count(p) / 1e6, 1) == 36.5
  assert 'stem_bn' not in p and 'final_bn' in p
  assert p['stem']['kernel'].shape == (3, 3, 3, 16)
  assert p['stage1_block1']['proj']['kernel'].shape == (1, 1, 16, 160)
  assert 'proj_bn' not in p['stage1_block1'] and 'proj' not in p['stage1_block2']
  assert sorted(k for k in p if k.startswith('stage')) == [
      f'stage{i}_block{j}' for i in (1, 2, 3) for j in (1, 2, 3, 4)]


def test_tiny_shapes_on_28x28x1():
  """Shapes by `jax.eval_shape` (traced, not compiled); the next test runs the compiled step."""
  model = make('tiny')
  x = jax.ShapeDtypeStruct((4, 28, 28, 1), jnp.float32)
  variables = jax.eval_shape(model.init, jax.random.PRNGKey(1), x)
  p = variables['params']
  assert p['stem']['kernel'].shape == (3, 3, 1, 8) and 'bias' not in p['stem']
  assert p['stage2_block1']['conv1']['kernel'].shape == (3, 3, 8, 16)
  assert p['stage2_block1']['proj']['kernel'].shape == (1, 1, 8, 16)   # 8 -> 16, stride 2
  assert 'proj' not in p['stage1_block1']                              # 8 -> 8, stride 1
  assert p['head']['kernel'].shape == (16, 10)
  out, state = jax.eval_shape(
      lambda v, x: model.apply(v, x, capture_intermediates=True), variables, x)
  assert out.shape == (4, 10)
  feats = state['intermediates']
  assert feats['stage1_block1']['__call__'][0].shape == (4, 28, 28, 8)
  assert feats['stage2_block1']['__call__'][0].shape == (4, 14, 14, 16)


def _largest_constant(hlo_text: str) -> int:
  """Elements of the largest constant tensor in StableHLO text (0 if none)."""
  sizes = [0]
  for line in hlo_text.splitlines():
    if 'stablehlo.constant' in line:
      for dims in re.findall(r'tensor<((?:\d+x)+)\w+>', line):
        sizes.append(math.prod(int(d) for d in dims.rstrip('x').split('x')))
  return max(sizes)


def test_tiny_train_step_compiles_without_large_constants_and_runs():
  model = make('tiny', dropout=0.1)
  x = jnp.asarray(np.random.default_rng(0).normal(size=(16, 28, 28, 1)), jnp.float32)
  variables = variables_like(model, x)

  def loss(params, stats, x):   # x an argument: a closed-over array is a constant XLA folds slowly
    out, new = model.apply({'params': params, 'batch_stats': stats}, x, train=True,
                           rngs={'dropout': jax.random.PRNGKey(2)}, mutable=['batch_stats'])
    return (out ** 2).mean(), (out, new)

  lowered = jax.jit(jax.value_and_grad(loss, has_aux=True)).lower(
      variables['params'], variables['batch_stats'], x)
  # A closed-over batch or weight becomes a constant that XLA's constant folding spends minutes
  # on; the step must take them as arguments (no constant larger than a small table of scalars).
  assert _largest_constant(lowered.as_text()) < 1024
  step = lowered.compile()
  (value, (out, _)), grads = step(variables['params'], variables['batch_stats'], x)
  assert out.shape == (16, 10) and np.isfinite(float(value))
  assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))


@pytest.mark.parametrize('preact', [False, True])
def test_batch_stats_update_in_train_mode_and_are_used_in_eval(preact):
  model = make('tiny', preact=preact)
  x = jnp.asarray(np.random.default_rng(0).normal(3.0, 2.0, (8, 12, 12, 1)), jnp.float32)

  @jax.jit
  def run(variables, x):
    out_train, new = model.apply(variables, x, train=True, mutable=['batch_stats'])
    out_eval, same = model.apply(variables, x, train=False, mutable=['batch_stats'])
    out_moved = model.apply({**variables, 'batch_stats': new['batch_stats']}, x)
    return out_train, new['batch_stats'], out_eval, same['batch_stats'], out_moved

  variables = variables_like(model, x)
  stats = variables['batch_stats']
  out_train, new, out_eval, same, out_moved = run(variables, x)
  assert all(not np.array_equal(a, b) for a, b in zip(jax.tree.leaves(stats), jax.tree.leaves(new)))
  jax.tree.map(np.testing.assert_array_equal, same, stats)
  # Eval normalizes with the running (initial 0 / 1) statistics, train with the batch's: the
  # input's mean 3 and std 2 make them differ.
  assert float(jnp.abs(out_train - out_eval).max()) > 1e-3
  # And eval reads the statistics: other running statistics, other outputs.
  assert float(jnp.abs(out_moved - out_eval).max()) > 1e-3


# 8 s: in CI's slow step (.ci/run), with the default suite near its 10-minute budget
@pytest.mark.slow
def test_engine_trains_tiny_on_digits(data_dir, tmp_path):
  c = config_lib.base_config()
  c.model.name, c.model.variant = 'resnet', 'tiny'
  c.data.name, c.data.data_dir, c.data.batch_size = 'nnzoo_digits', data_dir, 16
  c.num_steps, c.eval_every, c.ckpt_every, c.plots, c.log_every = 3, 0, 0, False, 1
  s = loop.train_and_evaluate(c, tmp_path, progress=False)
  losses = [r['loss'] for r in metrics_lib.read(tmp_path) if r['split'] == 'train']
  assert s['step'] == 3 and len(losses) == 3 and np.all(np.isfinite(losses))
  assert np.isfinite(s['eval']['loss']) and s['num_params'] == 5122   # 1-channel input
  stats = jax.device_get(s['state'].model_state['batch_stats'])
  bn = stats['stage1_block1']['bn1']
  assert not np.allclose(bn['mean'], 0.0) and not np.allclose(bn['var'], 1.0)   # init: 0 and 1
  assert count(stats) == 144
