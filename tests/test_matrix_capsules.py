"""Matrix capsules with EM routing: routing invariants, layer shapes, the spread loss, training."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models import matrix_capsules as mc
from train.objectives import capsule


def test_em_routing_assignments_are_distributions_and_activations_in_0_1():
  votes = jax.random.normal(jax.random.PRNGKey(0), (3, 12, 5, 16))
  a_in = jax.random.uniform(jax.random.PRNGKey(1), (3, 12))
  route = jax.jit(mc.em_route, static_argnums=4)
  mu, a_out, r = route(votes, a_in, jnp.zeros(5), jnp.zeros(5), 3)
  assert mu.shape == (3, 5, 16) and a_out.shape == (3, 5) and r.shape == (3, 12, 5)
  np.testing.assert_allclose(r.sum(-1), 1.0, rtol=1e-5)
  assert jnp.all((a_out > 0) & (a_out < 1))
  _, _, r1 = route(votes, a_in, jnp.zeros(5), jnp.zeros(5), 1)
  np.testing.assert_allclose(r1, 0.2, rtol=1e-6)     # one iteration: uniform assignments


def test_em_routing_activates_the_parent_whose_votes_agree():
  rng = jax.random.split(jax.random.PRNGKey(2), 2)
  tight = jnp.ones((1, 20, 1, 16)) + 0.01 * jax.random.normal(rng[0], (1, 20, 1, 16))
  loose = 3.0 * jax.random.normal(rng[1], (1, 20, 1, 16))
  votes = jnp.concatenate([tight, loose], axis=2)
  mu, a_out, _ = mc.em_route(votes, jnp.ones((1, 20)), jnp.zeros(2), jnp.zeros(2), iterations=3)
  assert a_out[0, 0] > a_out[0, 1]
  np.testing.assert_allclose(mu[0, 0], 1.0, atol=0.05)


def test_capsule_patches_match_the_windows():
  x = jnp.arange(1 * 5 * 5 * 2 * 3, dtype=jnp.float32).reshape(1, 5, 5, 2, 3)
  p = mc.capsule_patches(x, 3, 2)
  assert p.shape == (1, 2, 2, 18, 3)
  np.testing.assert_array_equal(p[0, 1, 0].reshape(3, 3, 2, 3), x[0, 2:5, 0:3])


def test_paper_row_size_and_digits_shapes():
  cls, row = mc.VARIANTS['hinton_smallnorb']
  shapes = jax.eval_shape(cls(**row).init, jax.random.PRNGKey(0), jnp.zeros((1, 32, 32, 1)))
  n = sum(int(np.prod(s.shape)) for s in jax.tree.leaves(shapes))
  assert 300_000 < n < 330_000   # the paper reports 310K
  cls, row = mc.VARIANTS['tiny']
  out = jax.eval_shape(lambda x: cls(**row).init_with_output(jax.random.PRNGKey(0), x)[0],
                       jnp.zeros((2, 8, 8, 1)))
  assert out['activations'].shape == (2, 10) and out['poses'].shape == (2, 10, 16)


def test_spread_loss_matches_equation_3():
  a = jnp.array([[0.9, 0.5, 0.1]])
  got = capsule.spread_loss(a, jnp.array([0]), 0.6)
  np.testing.assert_allclose(got, [0.2 ** 2 + 0.0], rtol=1e-6)   # (0.6 - 0.4)^2 + max(0, -0.2)^2


@pytest.mark.slow  # in CI (.ci/run), not in the 10-minute default run
def test_em_capsules_loss_falls_on_tiny_digits():
  """The objective's own train step (spread loss, margin schedule) on real digits, without the
  loop."""
  import models
  import optax
  from sklearn.datasets import load_digits
  from experiments.capsnet import em_routing_digits
  config = em_routing_digits.get_config('tiny')
  config.objective_args.spread_ramp = 10.0   # margin ~0.2 for these few steps: comparable losses
  objective = capsule.Capsule(config, models.build(config.model), optax.adam(1e-2))
  d = load_digits()
  images, labels = (d.images / 16.0).astype(np.float32)[..., None], d.target.astype(np.int32)
  rng = np.random.default_rng(0)
  batches = [{'image': images[i], 'label': labels[i]}
             for i in (rng.integers(0, len(labels), 32) for _ in range(25))]
  state = objective.init_state(jax.random.PRNGKey(0), batches[0])
  step = jax.jit(objective.train_step)
  losses = []
  for batch in batches:
    state, metrics = step(state, batch)
    losses.append(float(metrics['loss']))
  assert np.mean(losses[-5:]) < 0.8 * losses[0]
  assert 'spread_loss' in metrics and 'margin_loss' not in metrics
