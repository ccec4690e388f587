"""Sequence to sequence: teacher-forced cross-entropy for training, greedy decoding for eval.

The batch holds `source` [B, S] and `target` [B, T] (int tokens). The model is called as
`model(source, targets=target)` and returns logits [B, T, vocab] (models/transformer.py:Seq2Seq
shifts the targets right itself). Eval adds `greedy_seq_accuracy`: the model decodes T tokens
from the source alone (its own `greedy` method), and an example counts when all of them are right.
"""

import jax.numpy as jnp
import optax

from train.objectives.loss import LossObjective


class SequenceToSequence(LossObjective):
  input_key = 'source'
  target_key = 'target'

  def model_kwargs(self, batch):
    return {'targets': batch[self.target_key], **super().model_kwargs(batch)}

  def per_example(self, logits, batch):
    targets = batch[self.target_key]
    ce = optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), targets)
    right = (jnp.argmax(logits, -1) == targets).astype(jnp.float32)
    return ce.mean(-1), {'accuracy': right.mean(-1), 'seq_accuracy': right.min(-1)}

  def eval_step(self, state, batch):
    sums = super().eval_step(state, batch)
    targets = batch[self.target_key]
    decoded = self.model.apply({'params': state.params, **state.model_state},
                               batch[self.input_key], targets.shape[1],
                               method=type(self.model).greedy)
    ok = jnp.all(decoded == targets, axis=-1).astype(jnp.float32)
    sums['greedy_seq_accuracy'] = (ok * batch['mask']).sum()
    return sums
