"""Supervised classification: softmax cross-entropy on integer labels; accuracy."""

import jax.numpy as jnp
import optax

from train.objectives.loss import LossObjective


class Classification(LossObjective):
  label_key = 'label'

  def per_example(self, logits, batch):
    labels = batch[self.label_key]
    losses = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    correct = (jnp.argmax(logits, -1) == labels).astype(jnp.float32)
    return losses, {'accuracy': correct}

  def plots(self, state, batch, directory):
    from train import plots
    logits = self.forward({'params': state.params, **state.model_state}, batch, train=False,
                           rngs={}, mutable=False)
    return [plots.prediction_grid(batch[self.input_key], batch[self.label_key],
                                  jnp.argmax(logits, -1), directory / 'predictions.png')]
