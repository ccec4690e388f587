"""Supervised classification: softmax cross-entropy on integer labels; accuracy.

A model may return (logits, auxiliary logits) when training (an auxiliary classifier head, as in
Szegedy et al. 2015 and the DARTS evaluation network); the loss then adds
objective_args.aux_weight (default 0.4) times the auxiliary head's cross-entropy.
"""

import jax.numpy as jnp
import optax

from train.objectives.loss import LossObjective


class Classification(LossObjective):
  label_key = 'label'

  def per_example(self, logits, batch):
    aux = None
    if isinstance(logits, tuple):
      logits, aux = logits
    labels = batch[self.label_key]
    losses = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    if aux is not None:
      weight = float(self.config.objective_args.get('aux_weight', 0.4))
      losses = losses + weight * optax.softmax_cross_entropy_with_integer_labels(aux, labels)
    correct = (jnp.argmax(logits, -1) == labels).astype(jnp.float32)
    return losses, {'accuracy': correct}

  def plots(self, state, batch, directory):
    from train import plots
    logits = self.forward({'params': state.params, **state.model_state}, batch, train=False,
                           rngs={}, mutable=False)
    return [plots.prediction_grid(batch[self.input_key], batch[self.label_key],
                                  jnp.argmax(logits, -1), directory / 'predictions.png')]
