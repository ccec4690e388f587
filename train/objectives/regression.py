"""Regression: mean squared error between the model's output and a real-valued target.

Sequence regression (the adding problem) is the same as any other regression: the model maps the
whole input to one output. The output is reshaped to the target's shape, so a [B, 1] head fits a
scalar target [B]. Eval reports `mse` (per example, averaged over the target's elements).
"""

import jax.numpy as jnp

from train.objectives.arguments import Arg
from train.objectives.loss import LossObjective


class Regression(LossObjective):
  ARGS = {'input_key': Arg('inputs', str), 'target_key': Arg('target', str)}

  def __init__(self, config, model, tx):
    super().__init__(config, model, tx)
    self.target_key = config.objective_args.target_key

  def per_example(self, outputs, batch):
    target = batch[self.target_key].astype(jnp.float32)
    err = jnp.square(outputs.reshape(target.shape) - target)
    mse = err.reshape(err.shape[0], -1).mean(-1)
    return mse, {'mse': mse}
