"""GANs: one jitted step updates both networks; WGAN-GP and DCGAN (batch norm) paths run."""

import jax
import jax.numpy as jnp
import numpy as np

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


def test_ring_run_reports_sample_quality_and_modes(data_dir, tmp_path):
  config = gan_ring.get_config('tiny')
  with config.unlocked():
    config.plots = False
  summary = loop.train_and_evaluate(config, tmp_path, overwrite=True, progress=False)
  ev = summary['eval']
  assert 0.0 <= ev['high_quality'] <= 1.0
  assert abs(sum(ev[f'mode_{k}'] for k in range(8)) - ev['high_quality']) < 1e-5
