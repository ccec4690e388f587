"""Several objects per input: independent sigmoid per class on k-hot targets; exact top-k accuracy.

The targets come from k integer label fields of the batch (`objective_args.label_keys`, default
('label', 'label2'): the two digits of nnzoo_multi_digits). The loss is the sum over classes of
the sigmoid cross-entropy against the k-hot vector. `accuracy` counts an example as right only
when its k highest scores are exactly its k labels (Sabour et al. 2017, Section 6: the two most
active outputs are the classification); `digit_accuracy` is the share of labels among the top k.
"""

import jax
import jax.numpy as jnp
import optax

from train.objectives.arguments import Arg
from train.objectives.loss import LossObjective


def k_hot(labels, num_classes: int, dtype=jnp.float32):
  """[B] integer label arrays, one per object -> [B, num_classes] with a 1 at each label."""
  hots = [jax.nn.one_hot(l, num_classes, dtype=dtype) for l in labels]
  return jnp.clip(sum(hots), 0, 1)


def top_k_metrics(scores, labels) -> dict:
  """{'accuracy': top-k set == label set, 'digit_accuracy': share of labels in the top k} [B]."""
  k = len(labels)
  _, top = jax.lax.top_k(scores, k)                               # [B, k]
  found = jnp.stack([jnp.any(top == l[:, None], -1) for l in labels], -1).astype(jnp.float32)
  return {'accuracy': found.min(-1), 'digit_accuracy': found.mean(-1)}


class MultiLabel(LossObjective):
  ARGS = {'label_keys': Arg(('label', 'label2'), tuple)}

  def __init__(self, config, model, tx):
    super().__init__(config, model, tx)
    self.label_keys = tuple(config.objective_args.label_keys)

  def per_example(self, logits, batch):
    labels = [batch[k] for k in self.label_keys]
    targets = k_hot(labels, logits.shape[-1], logits.dtype)
    losses = optax.sigmoid_binary_cross_entropy(logits, targets).sum(-1)
    return losses, top_k_metrics(logits, labels)

  def plots(self, state, batch, directory):
    from train import plots
    shown, logits = self.shown_outputs(state, batch, plots.GRID_IMAGES)
    _, top = jax.lax.top_k(logits, len(self.label_keys))
    return [plots.prediction_grid(shown[self.input_key],
                                  label_sets(jnp.stack([shown[k] for k in self.label_keys], -1)),
                                  label_sets(top), directory / 'predictions.png')]


def label_sets(labels) -> list[str]:
  """[B, k] labels -> ['3,8', ...] (sorted, so that equal sets compare equal as strings)."""
  import numpy as np
  return [','.join(str(v) for v in sorted(row)) for row in np.asarray(labels).tolist()]
