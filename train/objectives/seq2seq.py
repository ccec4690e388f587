"""Sequence to sequence: teacher-forced cross-entropy for training, greedy decoding for eval.

The batch holds `source` [B, S] and `target` [B, T] (int tokens), and optionally `target_mask`
[B, T] (float): padded text scores only the target tokens where it is 1 (train/preprocess.py's
tokenize_bytes writes it). The model is called as `model(source, targets=target)` and returns
logits [B, T, vocab] (models/transformer.py:Seq2Seq shifts the targets right itself). Eval adds
`greedy_seq_accuracy`: the model decodes T tokens from the source alone (its own `greedy`
method), and an example counts when all of its scored tokens are right.

objective_args: input_key ('source'), target_key ('target'), mask_key ('target_mask').
"""

import jax.numpy as jnp
import optax

from train.objectives.arguments import Arg
from train.objectives.loss import LossObjective


class SequenceToSequence(LossObjective):
  ARGS = {'input_key': Arg('source', str), 'target_key': Arg('target', str),
          'mask_key': Arg('target_mask', str)}

  def __init__(self, config, model, tx):
    super().__init__(config, model, tx)
    self.target_key = config.objective_args.target_key
    self.mask_key = config.objective_args.mask_key

  def weights(self, batch):
    targets = batch[self.target_key]
    if self.mask_key in batch:
      return batch[self.mask_key].astype(jnp.float32)
    return jnp.ones(targets.shape, jnp.float32)

  def model_kwargs(self, batch):
    return {'targets': batch[self.target_key], **super().model_kwargs(batch)}

  def per_example(self, logits, batch):
    targets = batch[self.target_key]
    weights = self.weights(batch)
    n = jnp.maximum(weights.sum(-1), 1.0)
    ce = optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), targets)
    right = (jnp.argmax(logits, -1) == targets).astype(jnp.float32)
    seq = jnp.all((right > 0) | (weights == 0), axis=-1).astype(jnp.float32)
    return (ce * weights).sum(-1) / n, {'accuracy': (right * weights).sum(-1) / n,
                                        'seq_accuracy': seq}

  def eval_step(self, state, batch):
    sums = super().eval_step(state, batch)
    targets = batch[self.target_key]
    decoded = self.model.apply({'params': state.params, **state.model_state},
                               batch[self.input_key], targets.shape[1],
                               method=type(self.model).greedy)
    ok = jnp.all((decoded == targets) | (self.weights(batch) == 0), axis=-1).astype(jnp.float32)
    sums['greedy_seq_accuracy'] = (ok * batch['mask']).sum()
    return sums
