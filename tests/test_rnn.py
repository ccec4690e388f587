"""Recurrent cells: the math against a plain unrolled reference, masking, gradients, training."""


import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models import rnn


def sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


def reference(cell, params, x):
  """The textbook recurrences, step by step in numpy, from the layer's own parameters."""
  w, b = np.asarray(params['input']['kernel']), np.asarray(params['input']['bias'])
  u = np.asarray(params['recurrent'])
  batch, steps, _ = x.shape
  hidden = u.shape[0]
  h, c = np.zeros((batch, hidden)), np.zeros((batch, hidden))
  outs = []
  for t in range(steps):
    xt = x[:, t] @ w + b
    if cell == 'rnn':
      h = np.tanh(xt + h @ u)
    elif cell == 'lstm':
      gates = xt + h @ u
      i, f, g, o = (gates[:, k * hidden:(k + 1) * hidden] for k in range(4))
      c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
      h = sigmoid(o) * np.tanh(c)
    else:  # gru, Cho et al. 2014
      uz, ur, un = u[:, :hidden], u[:, hidden:2 * hidden], u[:, 2 * hidden:]
      xz, xr, xn = xt[:, :hidden], xt[:, hidden:2 * hidden], xt[:, 2 * hidden:]
      z = sigmoid(xz + h @ uz)
      r = sigmoid(xr + h @ ur)
      n = np.tanh(xn + (r * h) @ un)
      h = z * h + (1 - z) * n
    outs.append(h)
  return np.stack(outs, 1), h


@pytest.mark.parametrize('cell', ['rnn', 'lstm', 'gru'])
def test_cell_matches_unrolled_reference(cell):
  x = np.random.default_rng(0).normal(size=(3, 7, 4)).astype(np.float32)
  layer = rnn.Recurrent(cell, hidden=5)
  mask = jnp.ones((3, 7), bool)
  params = layer.init(jax.random.PRNGKey(0), x, mask)['params']
  # perturb the biases so that the LSTM's forget-gate init is not all that is tested
  params = jax.tree.map(lambda p: p + 0.1, params)
  outs, last = layer.apply({'params': params}, x, mask)
  ref_outs, ref_last = reference(cell, params, x.astype(np.float64))
  np.testing.assert_allclose(outs, ref_outs, atol=1e-5)
  np.testing.assert_allclose(last, ref_last, atol=1e-5)


@pytest.mark.slow  # 10-30 s: in CI (.ci/run), out of the 10-minute default run
@pytest.mark.parametrize('bidirectional', [False, True])
def test_masking_ignores_padding(bidirectional):
  """Each sequence alone, unpadded, gives the same output as inside a padded batch."""
  model = rnn.RNN(cell='lstm', hidden=6, num_layers=2, bidirectional=bidirectional, num_outputs=3)
  rng = np.random.default_rng(1)
  lengths = np.array([5, 2, 8])
  x = rng.normal(size=(3, 8, 2)).astype(np.float32)
  garbage = x.copy()
  for i, n in enumerate(lengths):
    garbage[i, n:] = 1e3 * rng.normal(size=(8 - n, 2))  # padding that would swamp the state
  params = model.init(jax.random.PRNGKey(0), x, lengths=jnp.asarray(lengths))
  batched = model.apply(params, jnp.asarray(garbage), lengths=jnp.asarray(lengths))
  for i, n in enumerate(lengths):
    alone = model.apply(params, jnp.asarray(x[i:i + 1, :n]))
    np.testing.assert_allclose(batched[i], alone[0], atol=1e-5)


@pytest.mark.slow  # 10-30 s: in CI (.ci/run), out of the 10-minute default run
def test_gradient_matches_finite_differences():
  model = rnn.RNN(cell='gru', hidden=3, num_layers=2, num_outputs=1)
  x = jnp.asarray(np.random.default_rng(2).normal(size=(2, 6, 2)))
  with jax.enable_x64(True):
    x = x.astype(jnp.float64)
    params = jax.tree.map(lambda p: p.astype(jnp.float64),
                          model.init(jax.random.PRNGKey(0), x))

    @jax.jit
    def loss(p):
      return jnp.sum(model.apply(p, x) ** 2)

    grads = jax.jit(jax.grad(loss))(params)
    direction = jax.tree.map(lambda p: jnp.asarray(np.random.default_rng(3).normal(size=p.shape)),
                             params)
    eps = 1e-5
    plus = loss(jax.tree.map(lambda p, d: p + eps * d, params, direction))
    minus = loss(jax.tree.map(lambda p, d: p - eps * d, params, direction))
    numeric = (plus - minus) / (2 * eps)
    analytic = sum(jnp.vdot(g, d) for g, d in zip(jax.tree.leaves(grads),
                                                   jax.tree.leaves(direction)))
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6)


def test_lstm_adding_loss_falls(tmp_path, data_dir):
  del data_dir  # builds nnzoo_adding/t10 into the session's temp data dir
  from train import config as config_lib
  from train import loop
  config = config_lib.load('experiments/sequence/lstm_adding.py:tiny')
  with config.unlocked():
    config.num_steps = 150
    config.log_every = 10
    config.model.hidden = 16
    config.optimizer.learning_rate = 1e-2
  summary = loop.train_and_evaluate(config, tmp_path, progress=False)
  assert summary['eval']['mse'] < 0.1  # predicting the mean: 0.167


@pytest.mark.slow  # 10-30 s: in CI (.ci/run), out of the 10-minute default run
def test_variable_length_classification_through_the_objective():
  """`objective_args.extra_inputs` hands batch['lengths'] to the model: the padded tail is
  unseen."""
  import optax
  from models import rnn as rnn_lib
  from train import objectives
  from train.config import base_config
  config = base_config()
  config.objective = 'classification'
  config.objective_args.input_key = 'inputs'
  config.objective_args.extra_inputs = ('lengths',)
  model = rnn_lib.RNN(cell='gru', hidden=8, num_outputs=2)
  objective = objectives.build(config, model, optax.adam(1e-2))
  rng = np.random.default_rng(0)
  lengths = rng.integers(3, 9, size=32)
  x = rng.normal(size=(32, 8, 1)).astype(np.float32)
  label = (x[np.arange(32), lengths - 1, 0] > 0).astype(np.int32)   # sign of the last valid step
  x[np.arange(8)[None, :] >= lengths[:, None]] = 5.0                  # padding: always positive
  batch = {'inputs': jnp.asarray(x), 'label': jnp.asarray(label),
           'lengths': jnp.asarray(lengths), 'mask': jnp.ones(32)}
  state = objective.init_state(jax.random.PRNGKey(0), batch)
  step = jax.jit(objective.train_step)
  for _ in range(150):
    state, metrics = step(state, batch)
  sums = objective.eval_step(state, batch)
  assert sums['accuracy'] / sums['count'] == 1.0


@pytest.mark.slow  # 10-30 s: in CI (.ci/run), out of the 10-minute default run
@pytest.mark.parametrize('cell', ['rnn', 'lstm', 'gru'])
def test_fused_layer_is_the_same_function_with_the_same_gradients(cell):
  """The `fused` lever (models/rnn_fused.py: own forward and backward loops) changes no math:
  two stacked bidirectional layers, so both directions and the input gradient dx (layer 2 -> 1)."""
  x = jnp.asarray(np.random.default_rng(3).normal(size=(4, 9, 3)), jnp.float32)
  fast = rnn.RNN(cell=cell, hidden=6, num_layers=2, bidirectional=True, num_outputs=2)
  plain = fast.clone(fused=False)
  params = fast.init(jax.random.PRNGKey(0), x)
  params = jax.tree.map(lambda p: p + 0.05, params)

  def value_and_grads(model):   # one compiled program each (op by op takes 3x longer)
    loss = lambda p, x: jnp.sum(jnp.sin(model.apply(p, x)))  # noqa: E731
    return jax.jit(lambda p, x: (model.apply(p, x), jax.grad(loss, argnums=(0, 1))(p, x)))(
        params, x)
  (y_fast, g_fast), (y_plain, g_plain) = value_and_grads(fast), value_and_grads(plain)
  np.testing.assert_allclose(y_fast, y_plain, rtol=1e-5, atol=1e-6)
  for a, b in zip(jax.tree.leaves(g_fast), jax.tree.leaves(g_plain)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize('cell', ['rnn', 'lstm', 'gru'])
@pytest.mark.parametrize('leaf', ['recurrent', 'input'])
def test_fused_gradient_matches_finite_differences(cell, leaf):
  """The hand-written backward's dU, and its whole-sequence dW and db of the input projection."""
  with jax.enable_x64(True):
    layer = rnn.Recurrent(cell, hidden=3)
    x = jnp.asarray(np.random.default_rng(4).normal(size=(2, 5, 2)), jnp.float64)
    params = jax.tree.map(lambda p: p.astype(jnp.float64) + 0.1,
                          layer.init(jax.random.PRNGKey(1), x)['params'])
    w = jnp.asarray(np.random.default_rng(5).normal(size=(2, 5, 3)))

    @jax.jit
    def f(p):
      outs, last = layer.apply({'params': {**params, leaf: p}}, x)
      return jnp.sum(outs * w) + jnp.sum(last ** 2)
    p = params[leaf]
    grad = jax.jit(jax.grad(f))(p)
    rng = np.random.default_rng(6)
    direction = jax.tree.map(lambda a: jnp.asarray(rng.normal(size=a.shape)), p)
    eps = 1e-6
    shifted = lambda s: jax.tree.map(lambda a, d: a + s * eps * d, p, direction)  # noqa: E731
    numeric = (f(shifted(1)) - f(shifted(-1))) / (2 * eps)
    analytic = sum(jnp.sum(g * d)
                   for g, d in zip(jax.tree.leaves(grad), jax.tree.leaves(direction)))
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6)


def test_an_image_is_read_row_by_row():
  from models import rnn
  model = rnn.RNN(cell='gru', hidden=4, num_outputs=3)
  images = jax.random.uniform(jax.random.PRNGKey(0), (2, 5, 6, 1))
  variables = model.init(jax.random.PRNGKey(1), images)
  np.testing.assert_allclose(model.apply(variables, images),
                             model.apply(variables, images[..., 0]), rtol=1e-6)
  assert variables['params']['fwd0']['input']['kernel'].shape == (6, 12)   # 6 pixels a step
