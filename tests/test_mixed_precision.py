"""Mixed precision for every family: `config.model.dtype='bfloat16'` computes in bf16 while the
parameters (and so the optimizer state) stay float32 and losses are taken in float32.

Per family: after the same init the parameter tree, dtypes (all float32) and values equal the
float32 model's, and the outputs are within 2e-2 of the float32 model's (per example, the norm of
the difference over the norm of the float32 output, the largest over the batch). Slow: 50 training
steps through the engine give the float32 run's losses within 2% at every step. What stays float32
in a family, and the measurements that decided it, is in its model file's docstring.
"""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

import models
from tests import rotation
from train import config as config_lib
from train import loop
from train.errors import UserError

B = 8
IMAGES = np.random.default_rng(0).random((B, 8, 8, 1), np.float32)
TOKENS = np.random.default_rng(1).integers(0, 12, (B, 16)).astype(np.int32)

# name: (model config, input, extra apply kwargs)
CASES = {
    'mlp': (dict(name='mlp', variant='tiny'), IMAGES, {}),
    'cnn': (dict(name='cnn', variant='tiny', batch_norm=True), IMAGES, {}),
    'conv': (dict(name='cnn', variant='tiny', im2col=True), IMAGES, {}),
    'resnet': (dict(name='resnet', variant='tiny'), IMAGES, {}),
    'rnn': (dict(name='rnn', variant='tiny', cell='gru', fused=False, num_outputs=10), IMAGES,
            {}),
    'rnn_fused': (dict(name='rnn', variant='tiny', num_outputs=10), IMAGES, {}),
    'rnn_fused_elman': (dict(name='rnn', variant='tiny', cell='rnn', num_outputs=10), IMAGES, {}),
    'transformer_lm': (dict(name='transformer', variant='tiny'), TOKENS, {}),
    'transformer_vit': (dict(name='transformer', variant='vit_tiny'), IMAGES, {}),
    'transformer_encoder': (dict(name='transformer', variant='encoder_tiny'), TOKENS, {}),
    'transformer_seq2seq': (dict(name='transformer', variant='seq2seq_tiny'), TOKENS,
                            {'targets': TOKENS[:, ::-1]}),
    'autoencoder': (dict(name='autoencoder', variant='tiny'), IMAGES, {}),
    'autoencoder_conv': (dict(name='autoencoder', variant='conv'), IMAGES, {}),
    'autoencoder_vae': (dict(name='autoencoder', variant='vae_digits'), IMAGES, {}),
    'gan': (dict(name='gan', variant='tiny', sample_shape=(8, 8, 1)), IMAGES, {}),
    'gan_dcgan': (dict(name='gan', variant='dcgan_digits', sample_shape=(8, 8, 1)), IMAGES, {}),
    'capsnet': (dict(name='capsnet', variant='tiny'), IMAGES, {}),
    'darts_mlp': (dict(name='darts', variant='tiny'), IMAGES, {}),
    'darts_cells': (dict(name='darts', variant='cells_tiny'), IMAGES, {}),
    'nas_mlp': (dict(name='nas_mlp', variant='widest'), IMAGES, {}),
    'nas_mlp_population': (dict(name='nas_mlp', variant='population_tiny'), IMAGES, {}),
    'som': (dict(name='som', variant='tiny'), IMAGES, {}),
    'matrix_capsules': (dict(name='matrix_capsules', variant='tiny'), IMAGES, {}),
    'rbf': (dict(name='rbf', variant='tiny'), IMAGES, {}),   # outputs: its own test below
}


def build(spec, dtype):
  return models.build(ml_collections.ConfigDict(dict(spec, dtype=dtype)))


def relative_errors(half, full) -> np.ndarray:
  """Per floating output: the largest |half - full| over the batch's examples relative to the
  largest |full| (norms over each example's elements); 0 where both are exactly equal."""
  out = []
  for h, f in zip(jax.tree.leaves(half), jax.tree.leaves(full)):
    if jnp.issubdtype(jnp.asarray(f).dtype, jnp.floating):
      h, f = (np.asarray(a, np.float64).reshape(len(f), -1) for a in (h, f))
      diff, size = np.linalg.norm(h - f, axis=-1).max(), np.linalg.norm(f, axis=-1).max()
      out.append(0.0 if diff == 0 else diff / size)
  return np.array(out)


def init_shapes(model, x, kwargs):
  rngs = {'params': jax.random.PRNGKey(0), 'dropout': jax.random.PRNGKey(1)}
  return jax.eval_shape(lambda: model.init(rngs, x, train=False, **kwargs))


@pytest.mark.parametrize('case', sorted(CASES))
def test_bfloat16_keeps_the_float32_parameter_tree(case):
  """Tracing only (no compile): the same variables, shapes and float32 dtypes."""
  spec, x, kwargs = CASES[case]
  v32 = init_shapes(build(spec, 'float32'), x, kwargs)
  v16 = init_shapes(build(spec, 'bfloat16'), x, kwargs)
  assert jax.tree.structure(v16) == jax.tree.structure(v32)
  assert [a.shape for a in jax.tree.leaves(v16)] == [a.shape for a in jax.tree.leaves(v32)]
  floats = [a for a in jax.tree.leaves(v16) if jnp.issubdtype(a.dtype, jnp.floating)]
  assert floats and {a.dtype for a in floats} == {jnp.dtype('float32')}


# Compiling every family's init and apply takes minutes on 2 cores: the default run checks one.
# CI runs a third of the slow cases a commit (tests/rotation.share); a plain run, all of them.
@pytest.mark.parametrize('case', ['mlp'] + [
    pytest.param(c, marks=pytest.mark.slow)
    for c in rotation.share(sorted(set(CASES) - {'mlp', 'rbf'}))])
def test_bfloat16_outputs_are_close_to_float32_after_the_same_init(case):
  spec, x, kwargs = CASES[case]
  full, half = build(spec, 'float32'), build(spec, 'bfloat16')
  rngs = {'params': jax.random.PRNGKey(0), 'dropout': jax.random.PRNGKey(1)}
  v32 = jax.jit(lambda r: full.init(r, x, train=False, **kwargs))(rngs)
  v16 = jax.jit(lambda r: half.init(r, x, train=False, **kwargs))(rngs)
  assert all(a.dtype == b.dtype and np.array_equal(a, b)
             for a, b in zip(jax.tree.leaves(v16), jax.tree.leaves(v32)))
  out32 = jax.jit(lambda v: full.apply(v, x, train=False, **kwargs))(v32)
  out16 = jax.jit(lambda v: half.apply(v, x, train=False, **kwargs))(v16)
  errors = relative_errors(out16, out32)
  # Computed in bf16 (the outputs differ by rounding), within 2e-2 for every example.
  assert 0 < errors.max() <= 2e-2, errors


@pytest.mark.slow  # in CI (.ci/run), not in the 10-minute default run
def test_bfloat16_gradients_are_float32_and_close():
  """Through the fused LSTM's own backward: the parameter gradients of a bf16 model are float32
  and near the float32 model's."""
  spec, x, _ = CASES['rnn_fused']
  full, half = build(spec, 'float32'), build(spec, 'bfloat16')
  params = full.init(jax.random.PRNGKey(0), x)['params']

  def loss(model):
    return lambda p: jnp.sum(jnp.square(model.apply({'params': p}, x).astype(jnp.float32)))
  g32, g16 = jax.jit(jax.grad(loss(full)))(params), jax.jit(jax.grad(loss(half)))(params)
  for a, b in zip(jax.tree.leaves(g16), jax.tree.leaves(g32)):
    assert a.dtype == jnp.float32
    assert np.linalg.norm(a - b) <= 3e-2 * np.linalg.norm(b)


@pytest.mark.slow  # in CI (.ci/run), not in the 10-minute default run
def test_rbf_bfloat16_outputs_are_close_and_its_fit_features_are_float32():
  """Its read-out starts at zero (the fit sets it), so a fitted-like state instead: centres near
  the examples, widths that keep phi off 0 and 1, a random read-out."""
  spec = dict(name='rbf', variant='tiny')
  full, half = build(spec, 'float32'), build(spec, 'bfloat16')
  x = IMAGES.reshape(B, -1)
  rng = np.random.default_rng(2)
  params = full.init(jax.random.PRNGKey(0), x)['params']
  params['units'] = {'centres': x + 0.1 * rng.standard_normal(x.shape).astype(np.float32),
                     'log_width': np.full(B, np.log(2.0), np.float32)}
  params['readout'] = {'kernel': rng.standard_normal((B, 1)).astype(np.float32),
                       'bias': np.zeros(1, np.float32)}
  v = {'params': params}
  out32, out16 = (jax.jit(lambda v, m=m: m.apply(v, x, method='outputs_and_distances'))(v)
                  for m in (full, half))
  errors = relative_errors(out16, out32)
  assert 0 < errors.max() <= 2e-2, errors
  phi32, phi16 = (m.apply(v, x, method='features') for m in (full, half))
  np.testing.assert_array_equal(phi16, phi32)   # the least-squares fit's phi: float32 always


@pytest.mark.parametrize('family', sorted(models.FAMILIES))
def test_every_family_takes_bfloat16(family):
  c = config_lib.base_config()
  c.model = ml_collections.ConfigDict({'name': family, 'variant': 'tiny'})
  config_lib.apply_overrides(c, ['--config.model.dtype=bfloat16'])
  assert models.build(c.model).dtype == 'bfloat16'


def test_unknown_dtype_is_named():
  with pytest.raises(models.ConfigError, match="dtype='float16' is not one of float32, bfloat16"):
    build(dict(name='mlp', variant='tiny'), 'float16')
  c = config_lib.base_config()
  c.model = ml_collections.ConfigDict({'name': 'rbf', 'variant': 'tiny'})
  with pytest.raises(UserError, match="dtype='float16' is not one of float32, bfloat16"):
    config_lib.apply_overrides(c, ['--config.model.dtype=float16'])


# --- 50 steps through the engine -------------------------------------------------------------

def _base(model, **kw):
  c = config_lib.base_config()
  c.model = ml_collections.ConfigDict(model)
  for k, v in kw.items():
    c[k] = v
  return c


def _experiment(path):
  return lambda: config_lib.load(path)


def _rbf_digits():
  """The Fashion-MNIST RBF classifier's tiny config on the 8x8 digits with 32 units and batches of
  64: 5 k-means steps, the least-squares fit, 44 fine-tuning steps. A classifier: regression does
  not keep 2% in bf16 (models/rbf.py)."""
  c = config_lib.load('experiments/rbf/fashion_rbf.py:tiny')
  c.data.name = 'nnzoo_digits'
  c.data.batch_size = c.data.eval_batch_size = 64
  c.model.num_centres = 32
  c.objective_args.kmeans_steps = 5
  return c


TRAINING = {
    'mlp': lambda: _base({'name': 'mlp', 'variant': 'tiny'}),
    'cnn': lambda: _base({'name': 'cnn', 'variant': 'tiny', 'batch_norm': True}),
    'conv': lambda: _base({'name': 'cnn', 'variant': 'tiny', 'im2col': True}),
    'resnet': lambda: _base({'name': 'resnet', 'variant': 'tiny'}),
    'rnn': lambda: _base({'name': 'rnn', 'variant': 'tiny', 'cell': 'gru', 'fused': False,
                          'num_outputs': 10}),
    'rnn_fused': lambda: _base({'name': 'rnn', 'variant': 'tiny', 'num_outputs': 10}),
    'transformer': lambda: _base({'name': 'transformer', 'variant': 'vit_tiny'}),
    'autoencoder': _experiment('experiments/autoencoder/ae_vs_pca.py:tiny'),
    'gan': _experiment('experiments/gan/dcgan_digits.py:tiny'),
    'capsnet': _experiment('experiments/capsnet/capsnet_digits.py:tiny'),
    'darts': _experiment('experiments/nas/darts_mlp_digits.py:tiny'),
    'nas_mlp': lambda: _base({'name': 'nas_mlp', 'variant': 'widest'}),
    'som': _experiment('experiments/som/som_digits.py:tiny'),
    'matrix_capsules': _experiment('experiments/capsnet/em_routing_digits.py:tiny'),
    'rbf': _rbf_digits,
}


def train_losses(config, dtype, workdir):
  with config.unlocked():
    config.model.dtype = dtype
    config.num_steps, config.log_every, config.eval_every = 50, 1, 0
    config.ckpt_every, config.plots = 0, False
  loop.train_and_evaluate(config, workdir, progress=False)
  from train import metrics
  return [r['loss'] for r in metrics.read(workdir) if r['split'] == 'train']


@pytest.mark.slow  # in CI (.ci/run), not in the 10-minute default run
@pytest.mark.parametrize('family', rotation.share(sorted(TRAINING)))   # in CI: a third a commit
def test_fifty_bfloat16_steps_follow_the_float32_loss_curve(family, data_dir, tmp_path):
  full = train_losses(TRAINING[family](), 'float32', tmp_path / 'f32')
  half = train_losses(TRAINING[family](), 'bfloat16', tmp_path / 'bf16')
  assert len(full) == len(half) == 50
  np.testing.assert_allclose(half, full, rtol=0.02)
  assert half != full   # computed in bf16, not silently in float32
