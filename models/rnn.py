"""Recurrent networks: Elman (tanh) RNN, LSTM with forget gate, GRU; cells written out, run by scan.

Elman 1990, "Finding structure in time". Hochreiter & Schmidhuber 1997, "Long short-term memory",
with the forget gate of Gers, Schmidhuber & Cummins 2000. Cho et al. 2014, "Learning phrase
representations using RNN encoder-decoder for statistical machine translation" (the GRU).

Every cell's pre-activation is `x_t W + h_{t-1} U + b`. The `x_t W + b` part of all time steps is
one matmul over the whole [B, T, D] sequence before the scan (on CPU the per-step matmuls are small
and the scan's per-step overhead dominates; this halves the work inside it). Inside the scan only
the recurrent matmul remains.

Mixed precision (`dtype='bfloat16'`): the embedding, the input projection, the recurrent matmuls
and the head take bf16 operands (float32 parameters, rounded at each use) and accumulate in
float32; the hidden and cell states and the gates stay float32, because they are carried through
every time step and bf16 rounding would compound over the sequence (models/rnn_fused.py).

Variable lengths: `lengths` [B] marks steps t >= length as padding. There the state is carried
unchanged and the output is 0, so the forward state after the last step is the state at the last
valid step, and a reverse layer starts at the last valid step with the initial state.
"""

from typing import Callable, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

from models import rnn_fused

# Number of H-wide blocks of each cell's pre-activation.
GATES = {'rnn': 1, 'lstm': 4, 'gru': 3}


def stacked_orthogonal(gates: int):
  """Recurrent kernel init: an orthogonal H x H matrix per gate block, side by side."""
  def init(key, shape, dtype=jnp.float32):
    keys = jax.random.split(key, gates)
    h = shape[0]
    return jnp.concatenate([nn.initializers.orthogonal()(k, (h, h), dtype) for k in keys], -1)
  return init


def lstm_bias(key, shape, dtype=jnp.float32):
  """Zeros, except 1 in the forget gate block: remember by default (Jozefowicz et al. 2015)."""
  del key
  h = shape[0] // 4
  return jnp.zeros(shape, dtype).at[h:2 * h].set(1.0)


matmul = rnn_fused.mixed_matmul   # operands in u's dtype, float32 result


def rnn_step(u, carry, x):
  """Elman: h = tanh(x W + b + h U)."""
  h = jnp.tanh(x + matmul(carry, u))
  return h, h


def lstm_step(u, carry, x):
  """LSTM with forget gate: input, forget, candidate, output blocks (in that order)."""
  h, c = carry
  i, f, g, o = jnp.split(x + matmul(h, u), 4, axis=-1)
  c = nn.sigmoid(f) * c + nn.sigmoid(i) * jnp.tanh(g)
  h = nn.sigmoid(o) * jnp.tanh(c)
  return (h, c), h


def gru_step(u, carry, x):
  """GRU as Cho et al. 2014 write it: the reset gate scales h *before* the candidate's matmul."""
  h = carry
  hidden = h.shape[-1]
  xz, xr, xn = jnp.split(x, 3, axis=-1)
  z = nn.sigmoid(xz + matmul(h, u[:, :hidden]))
  r = nn.sigmoid(xr + matmul(h, u[:, hidden:2 * hidden]))
  n = jnp.tanh(xn + matmul(r * h, u[:, 2 * hidden:]))
  h = z * h + (1.0 - z) * n
  return h, h


STEPS = {'rnn': rnn_step, 'lstm': lstm_step, 'gru': gru_step}
# The same layers' whole loops with hand-written backward passes (the `fused` lever).
FUSED = {'rnn': rnn_fused.elman_layer, 'lstm': rnn_fused.lstm_layer, 'gru': rnn_fused.gru_layer}


def initial_carry(cell: str, batch: int, hidden: int, dtype=jnp.float32):
  zeros = jnp.zeros((batch, hidden), dtype)
  return (zeros, zeros) if cell == 'lstm' else zeros


def hidden_of(cell: str, carry):
  """The hidden state h inside a cell's carry (the LSTM also carries its memory cell c)."""
  return carry[0] if cell == 'lstm' else carry


class InputProjection(nn.Module):
  """The input projection's (kernel [D, F], bias [F]), named and initialized as nn.Dense's would
  be, so parameters and checkpoints are those of a Dense layer; the caller applies them."""
  features: int
  bias_init: Callable = nn.initializers.zeros

  @nn.compact
  def __call__(self, in_features: int):
    kernel = self.param('kernel', nn.initializers.lecun_normal(), (in_features, self.features))
    return kernel, self.param('bias', self.bias_init, (self.features,))


class Recurrent(nn.Module):
  """One recurrent layer in one direction over x [B, T, D] -> (outputs [B, T, H], last h [B, H])."""
  cell: str = 'lstm'
  hidden: int = 128
  reverse: bool = False
  unroll: int = 1
  fused: bool = True    # without masking: models/rnn_fused.py (same function, own backward)
  dtype: str = 'float32'   # the matmuls' operand dtype; states and gates stay float32

  @nn.compact
  def __call__(self, x, mask=None):
    """mask [B, T] bool (True on valid steps) or None when every step is valid."""
    if self.cell not in GATES:
      raise ValueError(f'unknown cell {self.cell!r}; known: {", ".join(GATES)}')
    gates = GATES[self.cell]
    bias_init = lstm_bias if self.cell == 'lstm' else nn.initializers.zeros
    w, b = InputProjection(gates * self.hidden, bias_init, name='input')(x.shape[-1])
    u = self.param('recurrent', stacked_orthogonal(gates), (self.hidden, gates * self.hidden))
    state_dtype = w.dtype   # the parameters': float32 (float64 in the gradient checks)
    if self.dtype != 'float32':   # mixed precision: the matmuls' operands only
      w, u = w.astype(self.dtype), u.astype(self.dtype)
    step_fn = STEPS[self.cell]
    init = initial_carry(self.cell, x.shape[0], self.hidden, state_dtype)
    # Time-major [T, B, D] before the projection: x is G*H/D times smaller than x W (the adding
    # problem's 2 features vs 512), so no pass moves the big array between layouts.
    x = x.swapaxes(0, 1)

    if self.fused and mask is None:
      layer = FUSED[self.cell]
      hs, h = layer(x[::-1] if self.reverse else x, w, b, u, *jax.tree.leaves(init))[:2]
      return (hs[::-1] if self.reverse else hs).swapaxes(0, 1), h

    xw = matmul(x, w) + b   # hoisted input projection: x_t W + b for every t in one matmul

    def step(carry, inputs):
      xw_t, m_t = inputs
      new, out = step_fn(u, carry, xw_t)
      if m_t is None:
        return new, out
      keep = m_t[:, None]
      carry = jax.tree.map(lambda n, o: jnp.where(keep, n, o), new, carry)
      return carry, jnp.where(keep, out, 0.0)

    steps = (xw, None if mask is None else mask.swapaxes(0, 1))
    carry, outputs = jax.lax.scan(step, init, steps, reverse=self.reverse, unroll=self.unroll)
    return outputs.swapaxes(0, 1), hidden_of(self.cell, carry)


def length_mask(lengths: Optional[jax.Array], steps: int):
  """[B, T] bool, True on valid steps; None (no masking work at all) when lengths is None."""
  if lengths is None:
    return None
  return jnp.arange(steps)[None, :] < lengths[:, None]


class RNN(nn.Module):
  """Stacked (optionally bidirectional) recurrent layers; the last valid hidden state -> Dense.

  Input: real-valued [B, T, D], or integer tokens [B, T] when vocab_size > 0 (embedded first), or
  images [B, H, W, C] read row by row (H steps of W*C features).
  Output: [B, num_outputs] (regression targets or class logits) from the last valid hidden state,
  or [B, T, num_outputs] from every step when per_step.
  """
  cell: str = 'lstm'
  hidden: int = 128
  num_layers: int = 1
  bidirectional: bool = False
  num_outputs: int = 1
  vocab_size: int = 0
  dropout: float = 0.0          # between layers and before the head
  unroll: int = 1               # lax.scan unroll: more per-step fusion, longer compile
  per_step: bool = False        # an output at every step instead of only after the last one
  fused: bool = True            # layers without lengths: hand-written backward
                                # (models/rnn_fused.py)
  dtype: str = 'float32'        # compute dtype ('bfloat16': states stay float32, see above)

  @nn.compact
  def __call__(self, x, train: bool = False, lengths=None):
    # float32 (the default) leaves flax's layers to their inputs' and parameters' dtype.
    dt = None if self.dtype == 'float32' else self.dtype
    if self.vocab_size:
      x = nn.Embed(self.vocab_size, self.hidden, dtype=dt)(x)
    elif x.ndim > 3:   # an image [B, H, W, C]: its H rows are the steps, W*C features each
      x = x.reshape(x.shape[:2] + (-1,))
    mask = length_mask(lengths, x.shape[1])
    for layer in range(self.num_layers):
      seq, last = Recurrent(self.cell, self.hidden, unroll=self.unroll, fused=self.fused,
                            dtype=self.dtype, name=f'fwd{layer}')(x, mask)
      if self.bidirectional:
        seq_b, last_b = Recurrent(self.cell, self.hidden, reverse=True, unroll=self.unroll,
                                  fused=self.fused, dtype=self.dtype, name=f'bwd{layer}')(x, mask)
        seq = jnp.concatenate([seq, seq_b], -1)
        last = jnp.concatenate([last, last_b], -1)
      x = nn.Dropout(self.dropout, deterministic=not train)(seq) if self.dropout else seq
    if self.per_step:
      return nn.Dense(self.num_outputs, name='head', dtype=dt)(x)
    if self.dropout:
      last = nn.Dropout(self.dropout, deterministic=not train)(last)
    return nn.Dense(self.num_outputs, name='head', dtype=dt)(last)


VARIANTS = {
    'tiny': (RNN, dict(cell='lstm', hidden=8)),
    # The adding problem (Hochreiter & Schmidhuber 1997, Experiment 4) as Le, Jaitly & Hinton 2015
    # ("A simple way to initialize recurrent networks of rectified linear units", Sec. 4.1) and
    # Arjovsky, Shah & Bengio 2016 (uRNN, Sec. 4.2) run it: one layer of 128 units, one output.
    'lstm_adding': (RNN, dict(cell='lstm', hidden=128)),
    'gru_adding': (RNN, dict(cell='gru', hidden=128)),
    'rnn_adding': (RNN, dict(cell='rnn', hidden=128)),
    # The `lstm` benchmark workload of train.bench: T=100, input 2, LSTM 128, last h -> Dense 1.
    'bench': (RNN, dict(cell='lstm', hidden=128, num_outputs=1)),
    # Chung, Gulcehre, Cho & Bengio 2014 ("Empirical evaluation of gated recurrent neural networks
    # on sequence modeling", Table 1, music data sets): models of ~20k parameters each, LSTM 36
    # units, GRU 46 units, tanh RNN 100 units; 88 piano-roll outputs at every step.
    'chung_lstm': (RNN, dict(cell='lstm', hidden=36, num_outputs=88, per_step=True)),
    'chung_gru': (RNN, dict(cell='gru', hidden=46, num_outputs=88, per_step=True)),
    'chung_tanh': (RNN, dict(cell='rnn', hidden=100, num_outputs=88, per_step=True)),
    # Graves & Schmidhuber 2005 ("Framewise phoneme classification with bidirectional LSTM",
    # Sec. 5): one bidirectional LSTM layer, 93 cells per direction, 61 TIMIT phoneme classes.
    'graves_blstm': (RNN, dict(cell='lstm', hidden=93, bidirectional=True, num_outputs=61)),
}
