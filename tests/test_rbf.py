"""RBF networks: k-means, closed-form least squares, and the fit through the engine."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow_datasets as tfds

import models
from experiments.rbf import fashion_rbf
from experiments.rbf import mackey_glass_6
from train import loop
from train import metrics as metrics_lib
from train import optimizer as optimizer_lib
from train.errors import UserError
from train.objectives import rbf as rbf_objective


def _objective(**args):
  config = mackey_glass_6.get_config('tiny')
  with config.unlocked():
    for k, v in args.items():
      config.objective_args[k] = v
  tx, _ = optimizer_lib.make_optimizer(config.optimizer, config.num_steps)
  return rbf_objective.RBFObjective(config, models.build(config.model), tx)


def _data(n, seed):
  x = jax.random.uniform(jax.random.PRNGKey(seed), (n, 4))
  y = jnp.sin(3 * x[:, :1]) + x[:, 1:2] * x[:, 2:3]
  return {'inputs': x, 'targets': jnp.concatenate([y, -y], 1)}


def test_kmeans_never_increases_inertia():
  x = jax.random.normal(jax.random.PRNGKey(0), (200, 3))
  centres = x[:10]
  inertias = []
  for _ in range(8):
    centres, inertia = rbf_objective.kmeans_step(x, centres)
    inertias.append(float(inertia))
  assert all(b <= a + 1e-6 for a, b in zip(inertias, inertias[1:]))
  assert inertias[-1] < 0.8 * inertias[0]


def test_least_squares_step_matches_numpy_lstsq():
  objective = _objective(kmeans_steps=0, fit_steps=1, ridge=0.0, width=0.5)
  batch = _data(64, 1)
  state = objective.init_state(jax.random.PRNGKey(0), batch)
  state, _ = jax.jit(objective.train_step)(state, batch)
  phi = objective.model.apply({'params': state.params}, batch['inputs'], method='features')
  p = np.concatenate([np.asarray(phi, np.float64), np.ones((64, 1))], 1)
  expected = np.linalg.lstsq(p, np.asarray(batch['targets'][:, :1], np.float64), rcond=None)[0]
  got = np.concatenate([state.params['readout']['kernel'], state.params['readout']['bias'][None]])
  np.testing.assert_allclose(got, expected, rtol=2e-3, atol=2e-3)


def test_normal_equations_summed_over_batches_equal_one_solve():
  objective = _objective(kmeans_steps=0, fit_steps=2, ridge=1e-3, width=0.5)
  a, b = _data(32, 2), _data(32, 3)
  both = jax.tree.map(lambda u, v: jnp.concatenate([u, v]), a, b)
  step = jax.jit(objective.train_step)
  s0 = objective.init_state(jax.random.PRNGKey(0), both)
  two, _ = step(s0, a)
  two, _ = step(two, b)
  one, _ = step(s0, both)
  np.testing.assert_allclose(two.params['readout']['kernel'], one.params['readout']['kernel'],
                             rtol=1e-3, atol=1e-4)


def test_closed_form_fit_through_the_engine_beats_the_mean(data_dir, tmp_path):
  config = mackey_glass_6.get_config('tiny')
  with config.unlocked():
    config.plots = False
  summary = loop.train_and_evaluate(config, tmp_path, overwrite=True, progress=False)
  assert summary['eval']['nmse_h6'] < 0.3
  # NDEI recomputed outside the objective: the model's predictions on the test split, their RMSE
  # over the standard deviation of the targets of the one batch the least-squares step fitted
  # (step kmeans_steps; tiny has fit_steps=1), with numpy. 1e-4 relative: float32 sums.
  from train import data
  args = config.objective_args
  index = list(args.target_index)
  fitted = data.make_pipeline(config).train_batch(args.kmeans_steps)['targets'][:, index]
  test = data.ArraySource(data.open_source(config.data, config.data.eval_split)).arrays
  state = summary['state']
  x = np.asarray(test['inputs'], np.float32).reshape(len(test['inputs']), -1)
  pred = np.asarray(models.build(config.model).apply({'params': state.params}, x))
  y = np.asarray(test['targets'], np.float64)[:, index]
  ndei = np.sqrt(np.mean((pred - y) ** 2) / np.var(np.asarray(fitted, np.float64)))
  np.testing.assert_allclose(summary['eval']['ndei_h6'], ndei, rtol=1e-4)
  # A learning rate in the logs only where the optimizer is used: the fine-tuning steps.
  tuned = config.objective_args.kmeans_steps + config.objective_args.fit_steps
  rows = [r for r in metrics_lib.read(tmp_path) if r['split'] == 'train']
  assert [r['step'] - 1 >= tuned for r in rows] == ['lr' in r for r in rows]
  assert any('lr' in r for r in rows) and not all('lr' in r for r in rows)


def test_logged_learning_rate_appears_only_when_fine_tuning():
  config = mackey_glass_6.get_config('tiny')
  objective = rbf_objective.RBFObjective(config, models.build(config.model), None)
  first_tuned = config.objective_args.kmeans_steps + config.objective_args.fit_steps
  assert loop.logged_schedule(objective, first_tuned - 1, 0.01) == {}
  assert loop.logged_schedule(objective, first_tuned, 0.01) == {'lr': 0.01}


def _classifier(**args):
  config = fashion_rbf.get_config('tiny')
  with config.unlocked():
    for k, v in args.items():
      config.objective_args[k] = v
  tx, _ = optimizer_lib.make_optimizer(config.optimizer, config.num_steps)
  return rbf_objective.RBFObjective(config, models.build(config.model), tx)


def test_classifier_fits_one_hot_targets_by_least_squares_and_counts_its_hits():
  objective = _classifier(kmeans_steps=0, fit_steps=1, ridge=0.0, width=0.5)
  x = jax.random.uniform(jax.random.PRNGKey(0), (64, 2, 2, 1))   # 4 "pixels"
  labels = jax.random.randint(jax.random.PRNGKey(1), (64,), 0, 10)
  batch = {'image': x, 'label': labels}
  state = objective.init_state(jax.random.PRNGKey(2), batch)
  state, _ = jax.jit(objective.train_step)(state, batch)
  phi = objective.model.apply({'params': state.params}, x, method='features')
  p = np.concatenate([np.asarray(phi, np.float64), np.ones((64, 1))], 1)
  onehot = np.eye(10)[np.asarray(labels)]
  expected = np.linalg.lstsq(p, onehot, rcond=None)[0]
  got = np.concatenate([state.params['readout']['kernel'], state.params['readout']['bias'][None]])
  np.testing.assert_allclose(got, expected, rtol=2e-3, atol=2e-3)
  # Eval: the largest output is the class; masked rows count nowhere.
  mask = np.ones(64, np.float32)
  mask[:5] = 0
  sums = jax.device_get(objective.eval_step(state, {**batch, 'mask': jnp.asarray(mask)}))
  guess = np.argmax(p @ expected, -1)
  hit = (guess == np.asarray(labels)) & (mask > 0)
  assert sums['count'] == 59 and sums['accuracy'] == hit.sum()
  confusion = np.zeros((10, 10))
  np.add.at(confusion, (np.asarray(labels)[mask > 0], guess[mask > 0]), 1)
  np.testing.assert_array_equal(sums['confusion'], confusion)
  assert not any(k.startswith(('mse_', 'nmse_')) for k in sums)


def test_classes_must_match_the_outputs():
  with pytest.raises(UserError, match='objective_args.classes=3 but the model has 10 outputs'):
    _classifier(classes=3)


def test_fashion_rbf_tiny_on_mock_data(tmp_path):
  """The tiny config of fashion_rbf.py on mock Fashion-MNIST: k-means, the solve and one
  fine-tuning step through the engine."""
  config = fashion_rbf.get_config('tiny')
  with tfds.testing.mock_data(num_examples=16):
    summary = loop.train_and_evaluate(config, tmp_path, overwrite=True, progress=False)
  assert summary['step'] == config.num_steps and 0 <= summary['eval']['accuracy'] <= 1
  rows = [r for r in metrics_lib.read(tmp_path) if r['split'] == 'train']
  assert [r['phase'] for r in rows] == [0, 0, 1, 2]
