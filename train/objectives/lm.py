"""Next-token language modelling: cross-entropy of tokens[:, 1:] given tokens[:, :-1].

The batch holds `tokens` [B, T+1] (int) and optionally `loss_mask` [B, T+1] (float, aligned with
`tokens`): a token counts as a target only where the mask is 1 (an algorithmic task scores only
the answer, not the question). Eval reports, per example and then averaged over examples:
`loss` (nats/token), `bits_per_token` (= bits/char on byte-level text), `accuracy` (next-token
argmax) and `seq_accuracy` (every target token right). With teacher forcing every target right is
exactly the condition under which greedy decoding reproduces the answer, so `seq_accuracy` is
also the greedy whole-sequence accuracy. `perplexity` = exp(mean loss) is derived at the end.

plots() writes `sample.txt`: a continuation of an eval example's first tokens, sampled with the
key/value cache (models/transformer.py:generate). Knobs in config.objective_args: sample_prompt
(tokens, default 32), sample_tokens (default 200), temperature (default 0.8), sample_text (decode
bytes as UTF-8 text, default True when the vocabulary is 256 bytes, or the bytes and special ids of
train/preprocess.py's byte-level text).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax

from train import atomic
from train.objectives.arguments import Arg
from train.objectives.loss import LossObjective
from train.preprocess import BYTE_VOCAB
from train.preprocess import decode_bytes


class LanguageModel(LossObjective):
  ARGS = {
      'input_key': Arg('tokens', str),
      'sample_prompt': Arg(32, int),     # the pictures' samples: prompt tokens,
      'sample_tokens': Arg(200, int),    # tokens generated,
      'temperature': Arg(0.8, float),    # sampling temperature,
      # and whether they are shown as text (byte vocabularies are)
      'sample_text': Arg(lambda args, model: getattr(model, 'vocab_size', 0) in (256, BYTE_VOCAB),
                         bool),
  }
  mask_key = 'loss_mask'

  def forward(self, variables, batch, train, rngs, mutable):
    return self.model.apply(variables, batch[self.input_key][:, :-1], train=train, rngs=rngs,
                            mutable=mutable, **self.model_kwargs(batch))

  def init_state(self, rng, batch):
    return super().init_state(rng, {**batch, self.input_key: batch[self.input_key][:, :-1]})

  def per_example(self, logits, batch):
    targets = batch[self.input_key][:, 1:]
    if self.mask_key in batch:
      weights = batch[self.mask_key][:, 1:].astype(jnp.float32)
    else:
      weights = jnp.ones(targets.shape, jnp.float32)
    ce = optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), targets)
    n = jnp.maximum(weights.sum(-1), 1.0)
    loss = (ce * weights).sum(-1) / n
    right = (jnp.argmax(logits, -1) == targets).astype(jnp.float32)
    accuracy = (right * weights).sum(-1) / n
    seq = jnp.all((right > 0) | (weights == 0), axis=-1).astype(jnp.float32)
    return loss, {'accuracy': accuracy, 'seq_accuracy': seq, 'bits_per_token': loss / math.log(2)}

  def summarize(self, means: dict) -> dict:
    return {**means, 'perplexity': float(np.exp(min(means['loss'], 50.0)))}

  def plots(self, state, batch, directory):
    from models import transformer
    args = self.config.objective_args
    tokens = np.asarray(batch[self.input_key])
    plen = min(int(args.sample_prompt), tokens.shape[1] - 1)
    room = getattr(self.model, 'max_len', tokens.shape[1]) + 1 - plen
    steps = min(int(args.sample_tokens), room)
    if not hasattr(self.model, 'decode_step') or steps <= 0:
      return []
    variables = {'params': state.params, **state.model_state}
    rng = jax.random.fold_in(state.rng, int(state.step))
    temperature = float(args.temperature)
    sample = jax.jit(lambda v, p, r: transformer.generate(self.model, v, p, steps, r, temperature))
    out = sample(variables, jnp.asarray(tokens[:1, :plen]), rng)
    out = np.asarray(out[0])
    as_text = args.sample_text
    if as_text:
      prompt, rest = decode_bytes(out[:plen]), decode_bytes(out[plen:])
    else:
      prompt, rest = ' '.join(map(str, out[:plen])), ' '.join(map(str, out[plen:]))
    path = directory / 'sample.txt'
    text = f'--- step {int(state.step)}; prompt ---\n{prompt}\n--- sampled ---\n{rest}\n'
    atomic.write(path, text)
    # the workdir is directory's parent: the newest sample also sits there
    atomic.write(directory.parent / 'sample.txt', text)
    return [path]
