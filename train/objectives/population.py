"""Population classification: many candidate networks trained at once by one step.

The model returns logits [P, B, C] for P candidates that share the batch but not their weights
(models/nas_mlp.py:PopulationMLP). The step differentiates the SUM of the candidates' mean
losses: candidate p's parameters appear in its own loss only, so each gets exactly the gradient
it would get alone, and an elementwise optimizer (Adam, SGD, AdamW) then updates each exactly as
a separate run would. Global-norm clipping would couple the candidates, so it is refused.

Train metrics are population means (`loss` is the differentiated sum); eval reports the mean
accuracy over candidates, and sums each candidate's correct predictions over the eval split as
the array `candidate_correct` [P] (an eval table: the run's summary holds the final evaluation's
as summary['eval_tables']). `candidate_correct` on a train state and a batch gives the same on
any other data; the NAS table builders (experiments/nas/make_table.py, make_fashion_table.py)
use both.
"""

import jax.numpy as jnp
import optax

from train.errors import UserError
from train.objectives.loss import LossObjective


class PopulationClassification(LossObjective):
  label_key = 'label'

  def __init__(self, config, model, tx):
    super().__init__(config, model, tx)
    if config.optimizer.clip_norm:
      raise UserError('objective population: global-norm clipping would couple the candidates '
                      '(one norm over all of them); set config.optimizer.clip_norm=0')

  def per_example(self, logits, batch):
    labels = batch[self.label_key]
    losses = optax.softmax_cross_entropy_with_integer_labels(logits, labels[None])   # [P, B]
    correct = (jnp.argmax(logits, -1) == labels[None]).astype(jnp.float32)
    return losses.sum(0), {'accuracy': correct.mean(0), 'mean_loss': losses.mean(0)}

  def eval_tables(self, logits, batch):
    correct = (jnp.argmax(logits, -1) == batch[self.label_key][None]).astype(jnp.float32)
    return {'candidate_correct': (correct * batch['mask'][None]).sum(-1)}

  def candidate_correct(self, state, batch):
    """Correct predictions per candidate [P] on `batch`, counting examples where mask is 1."""
    logits = self.forward({'params': state.params, **state.model_state}, batch, train=False,
                          rngs={}, mutable=False)
    correct = (jnp.argmax(logits, -1) == batch[self.label_key][None]).astype(jnp.float32)
    return (correct * batch['mask'][None]).sum(-1)
