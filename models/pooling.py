"""2-D max pooling over non-overlapping windows as a reshape and elementwise work.

`nn.max_pool` lowers to XLA's reduce-window, whose gradient is select-and-scatter: on XLA:CPU a
slow scalar loop. Where the windows tile the map (window == strides, VALID padding: every CNN here
pools 2x2 with stride 2), the same pooling is a reshape to [N, H/k, k, W/k, k, C] and a max over
the two window axes, which XLA fuses with its neighbours in both directions.

The numbers are the reduce-window's: the forward is the same max, and the gradient goes, as
select-and-scatter's does, all of it to the FIRST maximum of each window in row-major order (ties
are common: after a ReLU, a background region's windows hold equal values), so outputs and
gradients are bitwise those of `nn.max_pool` (tests/test_pooling.py). Other shapes (overlapping
windows, padding) fall back to flax's. Average pooling stays flax's: its gradient is no select-
and-scatter, and the same reshape measured 5% slower on the bench `cnn` workload's step.
"""

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp


def _windows(x, window):
  """x [N, H, W, C] -> [N, H/kh, kh, W/kw, kw, C] (the remainder cropped)."""
  kh, kw = window
  n, h, w, c = x.shape
  x = x[:, :h - h % kh, :w - w % kw]
  return x.reshape(n, h // kh, kh, w // kw, kw, c)


@functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
def _max_tiles(x, window):
  return jnp.max(_windows(x, window), axis=(2, 4))


def _max_tiles_fwd(x, window):
  y = _max_tiles(x, window)
  return y, (x, y)


def _max_tiles_bwd(window, res, g):
  x, y = res
  kh, kw = window
  parts = _windows(x, window)
  taken = jnp.zeros(y.shape, bool)            # a window's maximum already given the gradient
  grads = []
  for i in range(kh):
    row = []
    for j in range(kw):
      first = (parts[:, :, i, :, j] == y) & ~taken
      taken = taken | first
      row.append(jnp.where(first, g, jnp.zeros_like(g)))
    grads.append(jnp.stack(row, axis=3))     # [N, H/kh, W/kw, kw, C]
  dx = jnp.stack(grads, axis=2)              # [N, H/kh, kh, W/kw, kw, C]
  n, h, w, c = x.shape
  dx = dx.reshape(n, h - h % kh, w - w % kw, c)
  return (jnp.pad(dx, ((0, 0), (0, h % kh), (0, w % kw), (0, 0))),)


_max_tiles.defvjp(_max_tiles_fwd, _max_tiles_bwd)


def _tiled(x, window, strides, padding) -> bool:
  """The windows tile x's [N, H, W, C] map: 2-D, strides equal to the window, VALID padding (a
  remainder row or column is dropped, as VALID does)."""
  return (x.ndim == 4 and len(window) == 2 and tuple(window) == tuple(strides)
          and padding == 'VALID')


def max_pool(x, window=(2, 2), strides=None, padding='VALID'):
  """`nn.max_pool(x, window, strides, padding)`; as reshapes where the windows tile the map."""
  strides = tuple(strides or window)
  if _tiled(x, window, strides, padding):
    return _max_tiles(x, tuple(window))
  return nn.max_pool(x, tuple(window), strides, padding)
