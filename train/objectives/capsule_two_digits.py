"""The capsule objective's two-digit mode (Sabour et al. Section 6, MultiMNIST): both digits of an
input reconstructed, each from the capsule of its own label, and the margin loss with T_k = 1 for
both classes."""

import jax.numpy as jnp

from train.objectives import multilabel
from train.objectives.capsule_losses import margin_loss


def forward(objective, variables, batch, train, rngs, mutable):
  """Both digits reconstructed, each from the capsule of its own label: 'reconstruction' and
  'target' are [B, 2, H, W, C]."""
  x = batch[objective.input_key]
  result = objective.model.apply(variables, x, train=train, labels=batch[objective.label_key],
                                 rngs=rngs, mutable=mutable)
  out, state = result if mutable is not False else (result, None)
  out = dict(out)
  if 'reconstruction' in out:
    other = objective.model.apply(variables, out['capsules'], batch[objective.label2_key],
                                  x.shape[1:], method='decode')
    out['reconstruction'] = jnp.stack([out['reconstruction'], other], 1)
    out['target'] = jnp.stack([batch[k] for k in objective.part_keys], 1)
  return (out, state) if mutable is not False else out


def per_example(objective, outputs, batch):
  """The margin loss with both labels present, both digits' reconstruction errors, and the
  both-digits and per-digit accuracies (multilabel.top_k_metrics)."""
  scores = objective.class_scores(outputs)
  both = [batch[objective.label_key], batch[objective.label2_key]]
  metrics = multilabel.top_k_metrics(scores, both)
  loss = metrics['margin_loss'] = margin_loss(
      scores, multilabel.k_hot(both, scores.shape[-1], scores.dtype), objective.m_plus,
      objective.m_minus, objective.down_weight)
  return objective.add_reconstruction(loss, metrics, outputs)
