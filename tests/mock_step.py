"""One train and one eval step of a config on `tfds.testing.mock_data`, traced to shapes (no
compile): what the per-config "the step traces on mock data" tests share."""

from typing import NamedTuple

import jax
import tensorflow_datasets as tfds

from train import config as config_lib
from train import data
from train import loop
from train import sharding as sharding_lib


class Traced(NamedTuple):
  run: loop.Run          # the built run (abstract_state, objective)
  batch: dict            # the (sharded) training batch
  state: object          # the train step's new state, as shapes
  metrics: dict          # the train step's metrics, as shapes
  sums: dict             # the eval step's sums, as shapes


def traced_step(c, batch: int = 8, train_batch: int | None = None,
                examples: int = 16) -> Traced:
  """Validates `c`, sets one step, no checkpoints or plots, eval batches of `batch` and train
  batches of `train_batch` (default `batch`), and traces its train and eval steps on a batch of
  mock data of `examples` examples a split."""
  config_lib.validate(c)
  with c.unlocked():
    c.num_steps, c.ckpt_every, c.plots = 1, 0, False
    c.data.batch_size = train_batch or batch
    c.data.eval_batch_size = batch
  mesh = sharding_lib.make_mesh(c.mesh)
  with tfds.testing.mock_data(num_examples=examples):
    pipeline = data.make_pipeline(c)
    train = data.global_batch(pipeline.train_batch(0), sharding_lib.batch_sharding(mesh))
    eval_batch = next(pipeline.eval_batches())
  run = loop.build(c, mesh, train)
  state, metrics = jax.eval_shape(run.objective.train_step, run.abstract_state, train)
  sums = jax.eval_shape(run.objective.eval_step, run.abstract_state, eval_batch)
  return Traced(run, train, state, metrics, sums)
