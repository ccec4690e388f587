"""What the SOM claims measure beside a run's eval metrics.

The untrained map's quantization error, for the claims "trained QE <= f x untrained QE": the
untrained map is the run's own initial state (same config, same seed, same first batch), scored by
the objective's own eval step on the eval split: only the competitive updates differ.

For the Fashion-MNIST map: k-means with as many centres as the map has units, and the map's units
labelled by the majority class of the training images they win, as a classifier of the test images.
"""

import time

import jax
import jax.numpy as jnp
import numpy as np

import models
from train import data
from train import objectives
from train import optimizer as optimizer_lib
from train.objectives import rbf
from train.objectives import som
from experiments import harness


def untrained_eval(config) -> dict:
  """Eval metrics of the state `objective.init_state` gives, before any step (one device)."""
  pipeline = data.make_pipeline(config)
  model = models.build(config.model)
  tx, _ = optimizer_lib.make_optimizer(config.optimizer, config.num_steps)
  objective = objectives.build(config, model, tx)
  first = {k: jnp.asarray(v) for k, v in pipeline.train_batch(0).items()}
  state = jax.jit(objective.init_state)(jax.random.PRNGKey(config.seed), first)
  eval_step = jax.jit(objective.eval_step)
  sums = None
  for batch in pipeline.eval_batches():
    out = eval_step(state, {k: jnp.asarray(v) for k, v in batch.items()})
    sums = out if sums is None else jax.tree.map(jnp.add, sums, out)
  sums = jax.device_get(sums)
  count = float(sums.pop('count'))
  return {k: float(v) / count for k, v in sums.items()}


def qe_ratio(get_config, seed, workdir, overrides) -> float:
  """Trained QE / untrained QE on the eval split, for the config `get_config()` with `seed`."""
  config = get_config()
  summary = harness.seeded_run(config, seed, workdir, overrides)
  trained = summary['eval']
  untrained = untrained_eval(config)
  print(f'    seed {seed}: QE trained {trained["quantization_error"]:.4f}, untrained '
        f'{untrained["quantization_error"]:.4f}; topographic error '
        f'{trained["topographic_error"]:.4f}', flush=True)
  return trained['quantization_error'] / untrained['quantization_error']


# -- The Fashion-MNIST map (fashion_som*.py): k-means beside it, its units as a classifier --------

def split_images(config, split: str):
  """One split as the map reads it (pixels / 255): images [N, ...] float32 and labels [N]."""
  source = data.ArraySource(data.open_split(config.data, split))
  images = data.scale_images({'image': source.arrays['image']})['image'].astype(np.float32)
  return images, np.asarray(source.arrays[config.data.label_key])


def kmeans(x, k: int, iterations: int, seed: int):
  """Lloyd's algorithm on the rows of x [N, D] from k distinct random rows (numpy's generator with
  `seed`): the centres [k, D] after `iterations` iterations (an empty cluster keeps its centre)."""
  from train.objectives import rbf
  step = jax.jit(rbf.kmeans_step)
  x = jnp.asarray(x)
  centres = x[np.random.default_rng(seed).choice(len(x), k, replace=False)]
  for _ in range(iterations):
    centres, _ = step(x, centres)
  return centres


def nearest(x, centres, chunk: int = 10_000):
  """(index of the nearest centre [N], distance to it [N]) for the rows of x [N, D]."""

  @jax.jit
  def one(x, centres):
    d2 = rbf.squared_distances(x, centres)
    return jnp.argmin(d2, -1), jnp.sqrt(d2.min(-1))
  found = [one(jnp.asarray(x[i:i + chunk]), centres) for i in range(0, len(x), chunk)]
  return (np.concatenate([np.asarray(f[0]) for f in found]),
          np.concatenate([np.asarray(f[1], np.float64) for f in found]))


def label_units(prototypes, bmu, labels) -> np.ndarray:
  """Each unit's majority class among the examples it wins; a unit that wins none takes the label
  of the nearest (in input space) unit that wins some."""
  prototypes = np.asarray(prototypes, np.float64)
  units = som.majority_labels(bmu, labels, len(prototypes))
  hit = np.flatnonzero(units >= 0)
  for u in np.flatnonzero(units < 0):
    units[u] = units[hit[np.argmin(np.square(prototypes[hit] - prototypes[u]).sum(-1))]]
  return units


def map_measures(config, state, kmeans_iterations: int) -> dict:
  """What the Fashion map claims read beside the run's eval metrics: test QE of k-means with as
  many centres as the map has units (fitted on the train split, seed config.seed), and the test
  accuracy of the map's units labelled by the majority class of the train images they win."""
  model = models.build(config.model)
  objective = objectives.build(config, model, None)
  train_x, train_y = split_images(config, config.data.train_split)
  test_x, test_y = split_images(config, config.data.eval_split)
  key = objective.input_key

  def inputs(x):   # as the map reads them (standardized where the config says so)
    return np.asarray(objective.inputs(state, {key: jnp.asarray(x)}))
  train_x, test_x = inputs(train_x), inputs(test_x)
  prototypes = state.params['prototypes']
  train_bmu, _ = nearest(train_x, prototypes)
  test_bmu, _ = nearest(test_x, prototypes)
  units = label_units(prototypes, train_bmu, train_y)
  t0 = time.perf_counter()
  centres = kmeans(train_x, prototypes.shape[0], kmeans_iterations, config.seed)
  _, kmeans_distance = nearest(test_x, centres)
  return {'kmeans_quantization_error': float(kmeans_distance.mean()),
          'kmeans_s': round(time.perf_counter() - t0, 1),
          'label_accuracy': float(np.mean(units[test_bmu] == test_y)),
          'units_without_train_hits': int(np.sum(np.bincount(train_bmu, minlength=len(units))
                                                 == 0))}


def fashion_map(get_config, seed, workdir, overrides, kmeans_iterations: int) -> dict:
  """The run of get_config() with `seed` (read back at the same commit where one finished:
  harness.cached_eval) and its map_measures, with the QE and topographic error of its eval."""
  config = get_config()
  found = harness.cached_eval(
      config, seed, workdir, overrides,
      extra=lambda summary, _: map_measures(config, summary['state'], kmeans_iterations))
  print(f'    seed {seed}: QE map {found["quantization_error"]:.4f}, k-means '
        f'{found["kmeans_quantization_error"]:.4f}; topographic error '
        f'{found["topographic_error"]:.4f}; majority-label test accuracy '
        f'{found["label_accuracy"]:.4f}', flush=True)
  return {k: found[k] for k in ('quantization_error', 'topographic_error',
                                'kmeans_quantization_error', 'label_accuracy',
                                'units_without_train_hits', 'kmeans_s')}
