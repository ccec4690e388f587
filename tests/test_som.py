"""Self-organizing maps: competitive learning through the engine, no gradient, data parallel."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import tensorflow_datasets as tfds
from jax.sharding import NamedSharding, PartitionSpec as P

import models
from experiments import harness
from experiments.som import fashion_som
from experiments.som import measures
from experiments.som import som_iris
from train import loop
from train import metrics as metrics_lib
from train.objectives import som as som_objective


def _config(steps, **args):
  config = som_iris.get_config('tiny')
  with config.unlocked():
    config.num_steps = steps
    config.plots = False
    for k, v in args.items():
      config.objective_args[k] = v
  return config


@pytest.mark.parametrize('variant', ['batch', 'online'])
def test_quantization_error_falls_without_a_gradient(data_dir, tmp_path, variant):
  config = _config(20, variant=variant)
  summary = loop.train_and_evaluate(config, tmp_path, overwrite=True, progress=False)
  trained = summary['eval']['quantization_error']
  untrained = measures.untrained_eval(config)['quantization_error']
  assert trained < 0.8 * untrained
  # Nothing gradient-shaped in the state: the optimizer is never used.
  assert jax.tree.leaves(summary['state'].opt_state) == []
  # The logs show the map's own schedule, not the unused optimizer's learning rate.
  rows = [r for r in metrics_lib.read(tmp_path) if r['split'] == 'train']
  assert rows and all('lr' not in r for r in rows)
  assert rows[-1]['radius'] < rows[0]['radius']
  # The contract, not the code's own formula: the row of step s logs the radius and rate used by
  # the update that made it (step s - 1), decaying exponentially from radius_start to radius_end
  # (rate_start to rate_end) over steps 0 .. num_steps - 1. som_iris states radius 5 -> 0.5; the
  # documented default rates are 1 -> 1 (batch map) and 0.5 -> 0.01 (online). Float32 powers:
  # within 1e-6.
  (r0, r1), (a0, a1) = (5.0, 0.5), {'batch': (1.0, 1.0), 'online': (0.5, 0.01)}[variant]
  for r in rows:
    t = (r['step'] - 1) / (config.num_steps - 1)
    assert r['radius'] == pytest.approx(r0 * (r1 / r0) ** t, rel=1e-6)
    assert r['rate'] == pytest.approx(a0 * (a1 / a0) ** t, rel=1e-6)
  # By hand, 20 steps: step 2's row (t = 1/19) has radius 5 * 0.1^(1/19) = 4.42933 and step 11's
  # (t = 10/19) 5 * 0.1^(10/19) = 1.48818.
  assert rows[1]['radius'] == pytest.approx(4.42933, rel=1e-5)
  assert rows[10]['radius'] == pytest.approx(1.48818, rel=1e-5)
  assert [r['step'] for r in rows] == list(range(1, config.num_steps + 1))
  assert rows[0]['radius'] == pytest.approx(5.0) and rows[-1]['radius'] == pytest.approx(0.5)


@pytest.mark.slow  # 10-30 s: in CI (.ci/run), out of the 10-minute default run
def test_train_step_never_differentiates(monkeypatch):
  def no_grad(*a, **k):
    raise AssertionError('the SOM step took a gradient')
  monkeypatch.setattr(jax, 'grad', no_grad)
  monkeypatch.setattr(jax, 'value_and_grad', no_grad)
  config = _config(10)
  objective = som_objective.SOMObjective(config, models.build(config.model), tx=None)
  batch = {'features': jax.random.normal(jax.random.PRNGKey(0), (32, 4))}
  state = objective.init_state(jax.random.PRNGKey(1), batch)
  state, metrics = objective.train_step(state, batch)
  assert int(state.step) == 1 and np.isfinite(float(metrics['quantization_error']))


def test_batch_map_on_8_devices_equals_1_device():
  config = _config(10, standardize=False, init='sample')
  objective = som_objective.SOMObjective(config, models.build(config.model), tx=None)
  x = jax.random.normal(jax.random.PRNGKey(0), (64, 4))
  state = objective.init_state(jax.random.PRNGKey(1), {'features': x})
  one_device = jax.jit(objective.train_step)
  s1 = state
  for i in range(3):
    s1, _ = one_device(s1, {'features': x + i})
  mesh = jax.make_mesh((8,), ('data',), axis_types=(jax.sharding.AxisType.Auto,))
  assert mesh.devices.size == 8
  sharded = NamedSharding(mesh, P('data'))
  eight = jax.jit(objective.train_step, in_shardings=(NamedSharding(mesh, P()), sharded))
  s8 = jax.device_put(state, NamedSharding(mesh, P()))
  for i in range(3):
    s8, _ = eight(s8, {'features': jax.device_put(x + i, sharded)})
  np.testing.assert_allclose(np.asarray(s8.params['prototypes']),
                             np.asarray(s1.params['prototypes']), rtol=1e-5, atol=1e-5)


def test_topographic_error_counts_non_neighbours():
  config = _config(1, standardize=False)
  objective = som_objective.SOMObjective(config, models.build(config.model), tx=None)  # 3 x 4
  # Prototypes on a line along unit index: 0 and 1 are neighbours, 0 and 4 are too (next row),
  # 0 and 5 are diagonal (not 4-neighbours).
  w = jnp.zeros((12, 2)).at[:, 0].set(100.0)
  w = w.at[0].set(jnp.array([0.0, 0.0])).at[1].set(jnp.array([1.0, 0.0]))
  w = w.at[5].set(jnp.array([-1.0, 0.0]))
  state = objective.init_state(jax.random.PRNGKey(0), {'features': jnp.zeros((4, 2))})
  state = state.replace(params={'prototypes': w})
  batch = {'features': jnp.array([[0.4, 0.0], [-0.4, 0.0]]), 'mask': jnp.ones(2)}
  sums = objective.eval_step(state, batch)
  assert float(sums['topographic_error']) == 1.0  # the first is fine (0, 1), the second not (0, 5)


def test_majority_labels_by_hand():
  # Unit 0 wins classes 1, 1, 0; unit 2 wins 2 and 0 (a tie: the smaller class); unit 3 wins 4;
  # units 1 and 4 win nothing.
  got = som_objective.majority_labels([0, 0, 0, 2, 2, 3], [1, 1, 0, 2, 0, 4], 5)
  assert got.tolist() == [1, -1, 0, 4, -1]
  # A unit that wins nothing takes the class of the nearest unit (in input space) that wins some:
  # unit 1 at 0.9 is nearer unit 0 (at 0) than unit 2 (at 2); unit 4 at 10 is nearest unit 3.
  prototypes = np.array([[0.0], [0.9], [2.0], [3.0], [10.0]])
  units = measures.label_units(prototypes, [0, 0, 0, 2, 2, 3], [1, 1, 0, 2, 0, 4])
  assert units.tolist() == [1, 1, 0, 4, 4]


def test_kmeans_baseline_finds_separated_clusters_and_quantizes_its_own_rows_exactly():
  rng = np.random.default_rng(0)
  # Two far clusters: from any two distinct rows Lloyd's iterations end at the clusters' means.
  x = (np.array([[0.0, 0.0], [10.0, 5.0]])[np.arange(300) % 2]
       + rng.normal(0, 0.1, (300, 2))).astype(np.float32)
  for seed in range(3):
    centres = np.asarray(measures.kmeans(x, 2, 5, seed=seed))
    np.testing.assert_allclose(centres[np.argsort(centres[:, 0])], [x[0::2].mean(0),
                                                                    x[1::2].mean(0)], atol=1e-4)
  index, distance = measures.nearest(x, centres, chunk=64)   # several chunks
  np.testing.assert_allclose(distance, np.linalg.norm(x - centres[index], axis=1), rtol=1e-4,
                             atol=1e-3)
  # As many centres as rows: every row is a centre, and nothing is left to quantize.
  _, distance = measures.nearest(x[:20], measures.kmeans(x[:20], 20, 2, seed=1))
  np.testing.assert_allclose(distance, 0.0, atol=1e-3)


@pytest.mark.slow  # 10-30 s: in CI (.ci/run), out of the 10-minute default run
def test_fashion_map_measures_on_mock_data(tmp_path, monkeypatch):
  """The tiny config of fashion_som*.py through the claims' measure on mock Fashion-MNIST: the
  run, its eval, k-means beside it, the labelled units, and the map's pictures."""
  monkeypatch.setattr(harness, 'ARMS_CACHE', str(tmp_path / 'arms'))

  def tiny():
    config = fashion_som.get_config('tiny')
    with config.unlocked():
      config.plots = True
    return config
  with tfds.testing.mock_data(num_examples=16):
    found = measures.fashion_map(tiny, 0, tmp_path / 'run', [], kmeans_iterations=2)
  assert 0 < found['kmeans_quantization_error'] < np.inf and found['quantization_error'] > 0
  assert 0 <= found['topographic_error'] <= 1 and 0 <= found['label_accuracy'] <= 1
  for picture in ('u_matrix.png', 'prototypes.png', 'hit_map.png'):
    assert (tmp_path / 'run' / 'plots' / picture).exists(), picture
