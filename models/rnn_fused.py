"""Recurrent layers' whole time loops with hand-written backward passes (the cuDNN / oneDNN recipe).

Autodiff of `lax.scan` over a cell (models.rnn.*_step) saves every intermediate of the cell as a
stacked residual, splits the gates into many small kernels per step, and accumulates the recurrent
weight's gradient inside the reverse loop: T small matmuls there, and, when the batch is split over
devices, T all-reduces of that partial sum (one per time step). Here, for every cell:
- the input projection x_t W + b of every step is part of the layer, one matmul before the loop
  (x time-major, [T, B, D]);
- the forward loop saves only what the backward needs (gate activations, states);
- the reverse loop carries dh (and dc) and emits the pre-activation gradients dz_t; its only matmuls
  are dz_t U^T;
- every weight's gradient is ONE contraction over time and batch afterwards, the two axes kept
  apart so a batch axis split over devices stays split: dU = sum_t a_t^T dz_t (a_t the matmul's left
  operand: h_{t-1}, or r_t * h_{t-1} for the GRU's candidate), dW = sum_t x_t^T dz_t,
  db = sum_t dz_t, dx_t = dz_t W^T; then one all-reduce of the gradients, not one a step.
The functions are the cells' exactly (tests/test_rnn.py compares outputs and gradients with autodiff
of the plain scan, and the gradients with finite differences); only float rounding differs.

Mixed precision: the weights' dtype is the compute dtype. Given bfloat16 w and u, every matmul and
contraction (forward and backward) takes bf16 operands and accumulates in float32, while the
states, gates and pre-activation gradients stay float32: they are carried through all T steps,
where bf16 rounding (8 significant bits) would compound step after step.
"""

import jax
import jax.numpy as jnp


def _accumulator(*dtypes):
  """float32, or wider when the operands are (float64 checks of the gradients)."""
  return jnp.promote_types(jnp.result_type(*dtypes), jnp.float32)


def mixed_matmul(a, b):
  """a @ b with a rounded to b's dtype (the compute dtype), accumulated and returned in float32
  (or a's dtype, if wider)."""
  return jnp.matmul(a.astype(b.dtype), b, preferred_element_type=_accumulator(a.dtype, b.dtype))


def _contract(spec, a, b, dtype):
  """einsum over operands rounded to `dtype`, accumulated in float32 (or wider)."""
  return jnp.einsum(spec, a.astype(dtype), b.astype(dtype),
                    preferred_element_type=_accumulator(a.dtype, b.dtype))


def _previous(first, stacked):
  """[first, stacked[0], ..., stacked[T-2]]: the state each step started from."""
  return jnp.concatenate([first[None], stacked[:-1]], 0)


def _input_grads(x, w, b, dzs):
  """dx, dW, db of the input projection x_t W + b from the pre-activation gradients [T, B, G],
  each in its primal's dtype."""
  dw = _contract('tbd,tbg->dg', x, dzs, w.dtype)
  dx = mixed_matmul(dzs, w.T)                            # dropped by XLA when x is data
  return dx.astype(x.dtype), dw.astype(w.dtype), dzs.sum((0, 1)).astype(b.dtype)


def _project(x, w, b):
  """x_t W + b of every step, float32."""
  return mixed_matmul(x, w) + b


# --- Elman: h_t = tanh(x_t W + b + h_{t-1} U) ---------------------------------------------------

def _elman_forward(xw, u, h0):
  def step(h, x):
    h = jnp.tanh(x + mixed_matmul(h, u))
    return h, h
  return jax.lax.scan(step, h0, xw)


@jax.custom_vjp
def elman_layer(x, w, b, u, h0):
  """x [T, B, D] (time-major), w [D, H], b [H], u [H, H], h0 [B, H] -> (hs [T, B, H], h_T)."""
  h, hs = _elman_forward(_project(x, w, b), u, h0)
  return hs, h


def _elman_fwd(x, w, b, u, h0):
  h, hs = _elman_forward(_project(x, w, b), u, h0)
  return (hs, h), (x, w, b, u, h0, hs)


def _elman_bwd(residuals, grads):
  x, w, b, u, h0, hs = residuals
  d_hs, d_h = grads

  def step(dh_next, inputs):
    dh_out, h = inputs
    dz = (dh_out + dh_next) * (1 - h * h)
    return mixed_matmul(dz, u.T), dz

  dh0, dzs = jax.lax.scan(step, d_h, (d_hs, hs), reverse=True)
  du = _contract('tbh,tbg->hg', _previous(h0, hs), dzs, u.dtype)
  dx, dw, db = _input_grads(x, w, b, dzs)
  return dx, dw, db, du.astype(u.dtype), dh0


elman_layer.defvjp(_elman_fwd, _elman_bwd)


# --- LSTM with forget gate: input, forget, candidate, output blocks -----------------------------
# The forward step evaluates all four gate nonlinearities as ONE tanh over the [B, 4H]
# pre-activation, using sigmoid(x) = (1 + tanh(x / 2)) / 2 for the input, forget and output blocks.

def _gate_scale(hidden: int, dtype):
  """Per column of the [B, 4H] pre-activation: 1/2 for sigmoid blocks (i, f, o), 1 for tanh (g)."""
  half = jnp.full((hidden,), 0.5, dtype)
  return jnp.concatenate([half, half, jnp.ones((hidden,), dtype), half])


def _lstm_forward(xw, u, h0, c0):
  hidden = h0.shape[-1]
  s = _gate_scale(hidden, xw.dtype)

  def step(carry, x):
    h, c = carry
    a = jnp.tanh((x + mixed_matmul(h, u)) * s) * s + (1 - s)  # sigmoid, sigmoid, tanh, sigmoid
    i, f, g, o = (a[:, k * hidden:(k + 1) * hidden] for k in range(4))
    c = f * c + i * g
    h = o * jnp.tanh(c)
    return (h, c), (h, c, a)

  (h, c), (hs, cs, acts) = jax.lax.scan(step, (h0, c0), xw)
  return (hs, h, c), (hs, cs, acts)


@jax.custom_vjp
def lstm_layer(x, w, b, u, h0, c0):
  """x [T, B, D] (time-major), w [D, 4H], b [4H], u [H, 4H], h0, c0 [B, H] -> (hs [T, B, H], h_T,
  c_T) of the pre-activations x_t w + b + h_{t-1} u. Gate blocks: input, forget, candidate,
  output."""
  return _lstm_forward(_project(x, w, b), u, h0, c0)[0]


def _lstm_fwd(x, w, b, u, h0, c0):
  out, (hs, cs, acts) = _lstm_forward(_project(x, w, b), u, h0, c0)
  return out, (x, w, b, u, h0, c0, hs, cs, acts)


def _lstm_bwd(residuals, grads):
  x, w, b, u, h0, c0, hs, cs, acts = residuals
  d_hs, d_h, d_c = grads
  hidden = h0.shape[-1]
  is_tanh = _gate_scale(hidden, acts.dtype) == 1

  def step(carry, inputs):
    dh_next, dc_next = carry
    dh_out, a, c, cp = inputs
    i, f, g, o = (a[:, k * hidden:(k + 1) * hidden] for k in range(4))
    dh = dh_out + dh_next
    tc = jnp.tanh(c)
    dc = dc_next + dh * o * (1 - tc * tc)
    da = jnp.concatenate([dc * g, dc * cp, dc * i, dh * tc], -1)
    dz = da * jnp.where(is_tanh, 1 - a * a, a * (1 - a))
    return (mixed_matmul(dz, u.T), dc * f), dz

  (dh0, dc0), dzs = jax.lax.scan(step, (d_h, d_c), (d_hs, acts, cs, _previous(c0, cs)),
                                 reverse=True)
  du = _contract('tbh,tbg->hg', _previous(h0, hs), dzs, u.dtype)
  dx, dw, db = _input_grads(x, w, b, dzs)
  return dx, dw, db, du.astype(u.dtype), dh0, dc0


lstm_layer.defvjp(_lstm_fwd, _lstm_bwd)


# --- GRU as Cho et al. 2014 write it: update z, reset r, candidate n blocks ----------------------
# z = sigmoid(x_z + h U_z), r = sigmoid(x_r + h U_r), n = tanh(x_n + (r * h) U_n),
# h' = z * h + (1 - z) * n.

def _gru_forward(xw, u, h0):
  hidden = h0.shape[-1]
  u_zr, u_n = u[:, :2 * hidden], u[:, 2 * hidden:]

  def step(h, x):
    zr = jax.nn.sigmoid(x[:, :2 * hidden] + mixed_matmul(h, u_zr))
    z, r = zr[:, :hidden], zr[:, hidden:]
    n = jnp.tanh(x[:, 2 * hidden:] + mixed_matmul(r * h, u_n))
    h = z * h + (1 - z) * n
    return h, (h, zr, n)

  h, (hs, zrs, ns) = jax.lax.scan(step, h0, xw)
  return h, (hs, zrs, ns)


@jax.custom_vjp
def gru_layer(x, w, b, u, h0):
  """x [T, B, D] (time-major), w [D, 3H], b [3H], u [H, 3H], h0 [B, H] -> (hs [T, B, H], h_T).
  Gate blocks: update, reset, candidate."""
  h, (hs, _, _) = _gru_forward(_project(x, w, b), u, h0)
  return hs, h


def _gru_fwd(x, w, b, u, h0):
  h, (hs, zrs, ns) = _gru_forward(_project(x, w, b), u, h0)
  return (hs, h), (x, w, b, u, h0, hs, zrs, ns)


def _gru_bwd(residuals, grads):
  x, w, b, u, h0, hs, zrs, ns = residuals
  d_hs, d_h = grads
  hidden = h0.shape[-1]
  u_zr, u_n = u[:, :2 * hidden], u[:, 2 * hidden:]
  h_prev = _previous(h0, hs)

  def step(dh_next, inputs):
    dh_out, hp, zr, n = inputs
    z, r = zr[:, :hidden], zr[:, hidden:]
    dh = dh_out + dh_next
    dn = dh * (1 - z) * (1 - n * n)                       # d(candidate pre-activation)
    dq = mixed_matmul(dn, u_n.T)                          # d(r * h_prev)
    dzr = jnp.concatenate([dh * (hp - n), dq * hp], -1) * zr * (1 - zr)
    dh_prev = dh * z + dq * r + mixed_matmul(dzr, u_zr.T)
    return dh_prev, jnp.concatenate([dzr, dn], -1)

  dh0, dzs = jax.lax.scan(step, d_h, (d_hs, h_prev, zrs, ns), reverse=True)
  du_zr = _contract('tbh,tbg->hg', h_prev, dzs[..., :2 * hidden], u.dtype)
  du_n = _contract('tbh,tbg->hg', zrs[..., hidden:] * h_prev, dzs[..., 2 * hidden:], u.dtype)
  dx, dw, db = _input_grads(x, w, b, dzs)
  return dx, dw, db, jnp.concatenate([du_zr, du_n], -1).astype(u.dtype), dh0


gru_layer.defvjp(_gru_fwd, _gru_bwd)
