"""The untrained map's quantization error, for the SOM claims "trained QE <= f x untrained QE".

The untrained map is the run's own initial state (same config, same seed, same first batch), scored
by the objective's own eval step on the eval split: only the competitive updates differ.
"""


import jax
import jax.numpy as jnp

import models
from train import data
from train import objectives
from train import optimizer as optimizer_lib
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
