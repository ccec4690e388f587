"""Supervised classification: softmax cross-entropy on integer labels; accuracy.

Evaluation also sums the confusion matrix [true class, predicted class] over the whole eval split
(an array-valued sum: the loop hands it to `plot_tables`, which draws it with the class names).

A model may return (logits, auxiliary logits) when training (an auxiliary classifier head, as in
Szegedy et al. 2015 and the DARTS evaluation network); the loss then adds
objective_args.aux_weight (default 0.4) times the auxiliary head's cross-entropy.
"""

import jax
import jax.numpy as jnp
import optax

from train.objectives.arguments import Arg
from train.objectives.loss import LossObjective


class Classification(LossObjective):
  ARGS = {'aux_weight': Arg(0.4, float)}   # the auxiliary head's share of the loss, if it has one
  label_key = 'label'

  def per_example(self, logits, batch):
    aux = None
    if isinstance(logits, tuple):
      logits, aux = logits
    labels = batch[self.label_key]
    losses = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    if aux is not None:
      weight = float(self.config.objective_args.aux_weight)
      losses = losses + weight * optax.softmax_cross_entropy_with_integer_labels(aux, labels)
    correct = (jnp.argmax(logits, -1) == labels).astype(jnp.float32)
    return losses, {'accuracy': correct}

  def class_scores(self, outputs):
    """[B, K] scores whose largest is the predicted class: the logits (without an auxiliary
    head's). What train.explain attributes to the input."""
    return outputs[0] if isinstance(outputs, tuple) else outputs

  def eval_tables(self, logits, batch):
    return confusion_table(self.class_scores(logits), batch[self.label_key], batch['mask'])

  def plot_tables(self, tables, directory, label_names=()):
    return draw_confusion(tables, directory, label_names)

  def plots(self, state, batch, directory):
    from train import plots
    shown, logits = self.shown_outputs(state, batch, plots.GRID_IMAGES)
    return [plots.prediction_grid(shown[self.input_key], shown[self.label_key],
                                  jnp.argmax(self.class_scores(logits), -1),
                                  directory / 'predictions.png')]


def confusion_table(scores, labels, mask) -> dict:
  """{'confusion': [true, predicted] counts} from class scores [B, K] (the largest wins), or {} when
  the scores are not one score per class (a sequence model's [B, T, K])."""
  if scores.ndim != 2:
    return {}
  classes = scores.shape[-1]
  true = jax.nn.one_hot(labels, classes) * mask[:, None]
  return {'confusion': true.T @ jax.nn.one_hot(jnp.argmax(scores, -1), classes)}


def draw_confusion(tables, directory, label_names=()):
  from train import plots
  if 'confusion' not in tables:
    return []
  return [plots.confusion_matrix(tables['confusion'], label_names, directory / 'confusion.png')]
