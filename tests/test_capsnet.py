"""CapsNet: squash, routing, the im2col convolution, the margin loss, and a short training run."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models import capsnet
from train.objectives import capsule


def test_squash_keeps_direction_and_maps_length_below_one():
  s = jax.random.normal(jax.random.PRNGKey(0), (64, 8)) * jnp.logspace(-2, 2, 64)[:, None]
  v = capsnet.squash(s)
  ns, nv = jnp.linalg.norm(s, axis=-1), jnp.linalg.norm(v, axis=-1)
  assert jnp.all(nv < 1.0)
  np.testing.assert_allclose(nv, ns ** 2 / (1 + ns ** 2), rtol=1e-4, atol=1e-6)
  cos = jnp.sum(s * v, -1) / (ns * nv)
  np.testing.assert_allclose(cos, 1.0, atol=1e-5)
  assert nv[0] < 1e-3 and nv[-1] > 0.999   # short vectors shrink to ~0, long ones to ~1
  assert jnp.all(jnp.isfinite(jax.grad(lambda x: capsnet.squash(x).sum())(jnp.zeros((3, 8)))))


@pytest.mark.parametrize('iterations', [1, 2, 3])
def test_routing_coupling_is_a_distribution_over_parents(iterations):
  u_hat = jax.random.normal(jax.random.PRNGKey(1), (2, 12, 5, 4))
  v, c = capsnet.route(u_hat, iterations)
  assert v.shape == (2, 5, 4) and c.shape == (2, 12, 5)
  np.testing.assert_allclose(c.sum(axis=2), 1.0, rtol=1e-5)
  if iterations == 1:  # r = 1: uniform coupling, v_j = squash(sum of the predictions / J)
    np.testing.assert_allclose(c, 1 / 5, rtol=1e-6)
    np.testing.assert_allclose(v, capsnet.squash(u_hat.sum(1) / 5), rtol=1e-4, atol=1e-6)
  else:               # agreement moves the coupling away from uniform
    assert float(jnp.abs(c - 0.2).max()) > 1e-3


def test_routing_raises_coupling_to_the_parent_that_agrees():
  # Child predictions: all children agree on parent 0's pose; parent 1 gets random, cancelling ones.
  rng = jax.random.split(jax.random.PRNGKey(2), 2)
  agree = jnp.broadcast_to(jnp.array([1.0, 2.0, 0.0, 0.5]), (1, 16, 4))
  noise = jax.random.normal(rng[0], (1, 16, 4)) * 2.0
  u_hat = jnp.stack([agree, noise], axis=2)
  _, c3 = capsnet.route(u_hat, 3)
  assert float(c3[..., 0].mean()) > 0.6


def test_sabour_row_has_the_papers_parameter_count():
  model = capsnet.CapsNet(**capsnet.VARIANTS['sabour_mnist'][1])
  shapes = jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.zeros((1, 28, 28, 1)))
  n = sum(int(np.prod(s.shape)) for s in jax.tree.leaves(shapes))
  assert n == 8_215_568   # "8.2M parameters" (Sabour et al. Section 5); 1152 primary capsules
  assert shapes['params']['classes']['W'].shape == (1152, 10, 8, 16)


@pytest.mark.slow  # 10-30 s: in CI (.ci/run), out of the 10-minute default run
def test_model_outputs_and_label_masking():
  cls, row = capsnet.VARIANTS['tiny']
  model = cls(**row)
  x = jax.random.uniform(jax.random.PRNGKey(5), (4, 8, 8, 1))
  params = model.init(jax.random.PRNGKey(6), x)
  params['params']['classes']['W'] *= 100.0   # capsules long enough for the decoder to tell apart
  apply = jax.jit(model.apply)
  out = apply(params, x)
  assert out['lengths'].shape == (4, 10) and out['capsules'].shape == (4, 10, 8)
  assert out['reconstruction'].shape == x.shape
  assert jnp.all((out['lengths'] >= 0) & (out['lengths'] < 1))
  pred = jnp.argmax(out['lengths'], -1)
  other = (pred + 1) % 10
  np.testing.assert_allclose(apply(params, x, labels=pred)['reconstruction'],
                             out['reconstruction'], rtol=1e-6)
  assert np.abs(apply(params, x, labels=other)['reconstruction']
                - out['reconstruction']).max() > 1e-3


def test_margin_loss_matches_equation_4():
  lengths = jnp.array([[0.95, 0.05, 0.5], [0.2, 0.3, 0.0]])
  labels = jnp.array([0, 1])
  got = capsule.margin_loss(lengths, labels)
  want = [0 + 0 + 0.5 * 0.4 ** 2, 0.5 * 0.1 ** 2 + 0.6 ** 2 + 0]
  np.testing.assert_allclose(got, want, rtol=1e-6)


def test_random_shift_moves_content_without_losing_it():
  img = jnp.zeros((16, 8, 8, 1)).at[:, 3:5, 3:5, :].set(1.0)
  out = capsule.random_shift(img, jax.random.PRNGKey(7), 2)
  assert out.shape == img.shape
  np.testing.assert_allclose(out.sum((1, 2, 3)), 4.0)        # a centred blob never leaves
  assert len({np.asarray(o).tobytes() for o in out}) > 3     # offsets differ between examples


@pytest.mark.slow  # 10-30 s: in CI (.ci/run), out of the 10-minute default run
def test_capsnet_loss_falls_on_tiny_digits(data_dir, tmp_path):
  from experiments.capsnet import capsnet_digits
  from train import loop
  config = capsnet_digits.get_config('tiny')
  config.data.data_dir = data_dir
  config.num_steps = 30
  config.log_every = 10
  config.plots = True
  summary = loop.train_and_evaluate(config, tmp_path, progress=True)  # progress: metrics.jsonl
  rows = [json.loads(l) for l in (tmp_path / 'metrics.jsonl').read_text().splitlines()]
  train = [r for r in rows if r['split'] == 'train']
  assert train[-1]['loss'] < 0.6 * train[0]['loss']
  assert {'accuracy', 'margin_loss', 'recon_mse'} <= set(summary['eval'])
  assert summary['eval']['accuracy'] > 0.3     # chance is 0.1
  for name in ('reconstructions', 'capsule_dimensions', 'coupling', 'predictions', 'confusion'):
    assert (tmp_path / 'plots' / f'{name}.png').exists()


def test_detached_routing_has_the_same_forward_and_a_different_gradient():
  u_hat = jax.random.normal(jax.random.PRNGKey(8), (2, 12, 5, 4))
  for r in (1, 3):
    np.testing.assert_allclose(capsnet.route(u_hat, r, detach=True)[0], capsnet.route(u_hat, r)[0],
                               rtol=1e-6)
  f = lambda u, detach: jnp.sum(capsnet.route(u, 3, detach)[0] ** 2)  # noqa: E731
  g = jax.jit(jax.grad(f), static_argnums=1)
  g, g_detached = g(u_hat, False), g(u_hat, True)
  assert np.abs(g - g_detached).max() > 1e-4
  f1 = lambda u, detach: jnp.sum(capsnet.route(u, 1, detach)[0] ** 2)  # noqa: E731
  np.testing.assert_allclose(jax.grad(f1)(u_hat, False), jax.grad(f1)(u_hat, True), rtol=1e-6)


def test_resize_and_crop_random_in_training_central_in_evaluation():
  img = jnp.arange(2 * 12 * 12, dtype=jnp.float32).reshape(2, 12, 12, 1)
  central = capsule.resize_and_crop(img, 0, 8)
  np.testing.assert_array_equal(central, img[:, 2:10, 2:10])
  shrunk = capsule.resize_and_crop(img, 6, 4, jax.random.PRNGKey(0))
  assert shrunk.shape == (2, 4, 4, 1)
  crops = {np.asarray(capsule.resize_and_crop(img, 0, 8, jax.random.PRNGKey(k))[0]).tobytes()
           for k in range(8)}
  assert len(crops) > 1
