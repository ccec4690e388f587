"""An LSTM layer's whole time loop with a hand-written backward pass (the cuDNN / oneDNN recipe).

Autodiff of `lax.scan` over `models.rnn.lstm_step` saves every intermediate of the cell as a
stacked residual, splits the gates into many small kernels per step, and turns the recurrent
weight's gradient into T small accumulating matmuls inside the reverse loop. Here:
- the forward step evaluates all four gate nonlinearities as ONE tanh over the [B, 4H]
  pre-activation, using sigmoid(x) = (1 + tanh(x / 2)) / 2 for the input, forget and output blocks;
- it saves only the gate activations and the cell state;
- the reverse loop does one matmul per step (dz_t U^T);
- the recurrent weight's gradient is ONE matmul over all steps afterwards: dU = sum_t h_{t-1}^T dz_t,
  and so are the input projection's: dW = sum_t x_t^T dz_t, db = sum_t dz_t, dx_t = dz_t W^T (the
  projection x_t W + b of every step is part of the layer, computed time-major before the loop).
The function is `lstm_step`'s exactly (tests/test_rnn.py compares outputs and gradients with
autodiff of the plain scan); only float rounding differs.
"""

import jax
import jax.numpy as jnp


def _gate_scale(hidden: int, dtype):
  """Per column of the [B, 4H] pre-activation: 1/2 for sigmoid blocks (i, f, o), 1 for tanh (g)."""
  half = jnp.full((hidden,), 0.5, dtype)
  return jnp.concatenate([half, half, jnp.ones((hidden,), dtype), half])


def _forward(xw, u, h0, c0):
  hidden = h0.shape[-1]
  s = _gate_scale(hidden, xw.dtype)

  def step(carry, x):
    h, c = carry
    a = jnp.tanh((x + h @ u) * s) * s + (1 - s)    # sigmoid, sigmoid, tanh, sigmoid
    i, f, g, o = (a[:, k * hidden:(k + 1) * hidden] for k in range(4))
    c = f * c + i * g
    h = o * jnp.tanh(c)
    return (h, c), (h, c, a)

  (h, c), (hs, cs, acts) = jax.lax.scan(step, (h0, c0), xw)
  return (hs, h, c), (hs, cs, acts)


@jax.custom_vjp
def lstm_layer(x, w, b, u, h0, c0):
  """x [T, B, D] (time-major), w [D, 4H], b [4H], u [H, 4H], h0, c0 [B, H] -> (hs [T, B, H], h_T,
  c_T) of the pre-activations x_t w + b + h_{t-1} u. Gate blocks: input, forget, candidate, output."""
  return _forward(x @ w + b, u, h0, c0)[0]


def _fwd(x, w, b, u, h0, c0):
  out, (hs, cs, acts) = _forward(x @ w + b, u, h0, c0)
  return out, (x, w, u, h0, c0, hs, cs, acts)


def _bwd(residuals, grads):
  x, w, u, h0, c0, hs, cs, acts = residuals
  d_hs, d_h, d_c = grads
  hidden = h0.shape[-1]
  is_tanh = _gate_scale(hidden, acts.dtype) == 1
  c_prev = jnp.concatenate([c0[None], cs[:-1]], 0)

  def step(carry, inputs):
    dh_next, dc_next = carry
    dh_out, a, c, cp = inputs
    i, f, g, o = (a[:, k * hidden:(k + 1) * hidden] for k in range(4))
    dh = dh_out + dh_next
    tc = jnp.tanh(c)
    dc = dc_next + dh * o * (1 - tc * tc)
    da = jnp.concatenate([dc * g, dc * cp, dc * i, dh * tc], -1)
    dz = da * jnp.where(is_tanh, 1 - a * a, a * (1 - a))
    return (dz @ u.T, dc * f), dz

  (dh0, dc0), dzs = jax.lax.scan(step, (d_h, d_c), (d_hs, acts, cs, c_prev), reverse=True)
  # Contract over time and batch together, without merging the two axes into one: a batch axis
  # sharded over devices stays sharded (a reshape to [T*B, ...] would make XLA gather it).
  h_prev = jnp.concatenate([h0[None], hs[:-1]], 0)
  du = jnp.einsum('tbh,tbg->hg', h_prev, dzs)
  dw = jnp.einsum('tbd,tbg->dg', x, dzs)
  dx = dzs @ w.T                                         # dropped by XLA when x is data
  return dx, dw, dzs.sum((0, 1)), du, dh0, dc0


lstm_layer.defvjp(_fwd, _bwd)
