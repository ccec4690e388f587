"""GANs: one jitted step updates both networks; WGAN-GP and DCGAN (batch norm) paths run."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import models
from experiments.gan import gan_ring
from experiments.gan import wgan_gp_ring
from train import config as config_lib
from train import loop
from train import optimizer as optimizer_lib
from train.objectives import gan as gan_objective


def _objective(config):
  tx, _ = optimizer_lib.make_optimizer(config.optimizer, config.num_steps)
  return gan_objective.GANObjective(config, models.build(config.model), tx)


def _changed(a, b):
  return [not np.allclose(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b))]


def _step_changes_both(config, batch):
  objective = _objective(config)
  state = jax.jit(objective.init_state)(jax.random.PRNGKey(0), batch)
  assert set(state.params) == {'g', 'd'} and set(state.opt_state) == {'g', 'd'}
  new, metrics = jax.jit(objective.train_step)(state, batch)
  assert all(_changed(state.params['g'], new.params['g']))
  # Not `all` for d: the WGAN critic's output bias cancels in D(fake) - D(real) (zero gradient).
  assert (sum(_changed(state.params['d'], new.params['d']))
          >= len(jax.tree.leaves(new.params['d'])) - 1)
  assert all(np.isfinite(float(v)) for v in metrics.values())
  # Each network keeps its own optimizer state: moments shaped like its parameters, and as many
  # updates counted as it took (n_critic for the discriminator, 1 for the generator).
  for net, updates in (('g', 1), ('d', objective.n_critic)):
    shapes = sorted(np.shape(x) for x in jax.tree.leaves(new.params[net]))
    moments = [np.shape(x) for x in jax.tree.leaves(new.opt_state[net]) if np.ndim(x)]
    assert moments and sorted(moments) == sorted(shapes * (len(moments) // len(shapes))), net
    assert {int(c) for c in jax.tree.leaves(new.opt_state[net]) if np.ndim(c) == 0} == {updates}
  return state, new


def test_one_step_updates_generator_and_discriminator():
  config = gan_ring.get_config('tiny')
  _step_changes_both(config, {'point': jax.random.normal(jax.random.PRNGKey(1), (64, 2))})


def test_wgan_gp_step_runs_its_critic_updates_and_updates_both():
  config = wgan_gp_ring.get_config('tiny')
  state, new = _step_changes_both(
      config, {'point': jax.random.normal(jax.random.PRNGKey(1), (80, 2))})
  # 5 critic updates and 1 generator update: the optimizer counts differ accordingly.
  counts = {k: [int(c) for c in jax.tree.leaves(new.opt_state[k]) if jnp.ndim(c) == 0]
            for k in ('g', 'd')}
  assert max(counts['d']) == 5 and max(counts['g']) == 1


@pytest.mark.slow  # in CI (.ci/run): keeps the default run under 10 minutes
def test_dcgan_step_updates_both_and_their_batch_norm_statistics():
  config = config_lib.base_config()
  config.objective = 'gan'
  config.model = config_lib.ml_collections.ConfigDict(
      {'name': 'gan', 'variant': 'dcgan_digits', 'sample_shape': (8, 8, 1), 'latent': 4,
       'g_hidden': (8, 4), 'd_hidden': (4, 8)})
  config.objective_args.input_key = 'image'
  batch = {'image': jax.random.uniform(jax.random.PRNGKey(1), (8, 8, 8, 1))}
  state, new = _step_changes_both(config, batch)
  for net in ('g', 'd'):
    assert any(_changed(state.model_state['batch_stats'][net], new.model_state['batch_stats'][net]))


def test_high_quality_and_modes_count_the_samples_near_each_mode():
  """VEEGAN's measure on planted samples: within 3 ring_std (0.06) of a mode counts for that mode,
  farther does not, padding counts nowhere."""
  config = gan_ring.get_config('tiny')
  objective = _objective(config)
  c = gan_objective.ring_centres(8, 2.0)
  fake = np.stack([c[0], c[0] + [0.05, 0], c[3] + [0, -0.059], c[5] + [0.07, 0], [0, 0], c[7],
                   [9, 9], c[1]]).astype(np.float32)
  batch = {'point': np.zeros((8, 2), np.float32), 'mask': np.array([1.] * 7 + [0.], np.float32)}
  state = objective.init_state(jax.random.PRNGKey(0), batch)
  objective.samples = lambda state, n: jnp.asarray(fake[:n])
  sums = jax.device_get(objective.eval_step(state, batch))
  assert float(sums['count']) == 7 and float(sums['high_quality']) == 4
  assert [float(sums[f'mode_{k}']) for k in range(8)] == [2, 0, 0, 1, 0, 0, 0, 1]


@pytest.mark.slow  # in CI (.ci/run): keeps the default run under 10 minutes
def test_ring_run_reports_sample_quality_and_modes(data_dir, tmp_path):
  config = gan_ring.get_config('tiny')
  with config.unlocked():
    config.plots = False
  summary = loop.train_and_evaluate(config, tmp_path, overwrite=True, progress=False)
  ev = summary['eval']
  assert 0.0 <= ev['high_quality'] <= 1.0
  assert abs(sum(ev[f'mode_{k}'] for k in range(8)) - ev['high_quality']) < 1e-5
