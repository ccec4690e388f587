"""Self-organizing map: a grid of prototype vectors (Kohonen 1982, "Self-organized formation of
topologically correct feature maps"; Kohonen 1990, "The self-organizing map", Proc. IEEE 78:1464).

The module only holds the prototypes and measures: called on a batch it returns the squared
Euclidean distance of every example to every unit, [B, rows * cols]. How the prototypes move (the
competitive update, which takes no gradient) is the `som` objective's business.
Units are numbered row-major: unit u sits at grid position (u // cols, u % cols).

`dtype='bfloat16'` takes the one matmul, x.w, from bf16 inputs (where nearly all the FLOPs are)
with float32 accumulation; the norms and the difference |x|^2 - 2 x.w + |w|^2 stay float32. Taken
in bf16 (8 significant bits) that difference of large, nearly equal terms would lose the gaps
between the nearest units that decide the winner; rounding only the inputs of x.w moves each
distance by about 2^-8 |x| |w|, which the bf16 tests bound.
"""

import flax.linen as nn
import jax.numpy as jnp


def grid_positions(rows: int, cols: int):
  """[rows * cols, 2] grid coordinates (row, column) of the units."""
  r, c = jnp.meshgrid(jnp.arange(rows), jnp.arange(cols), indexing='ij')
  return jnp.stack([r.ravel(), c.ravel()], -1).astype(jnp.float32)


def cross(x, w, dtype):
  """x @ w.T: [B, D] x [U, D] -> [B, U], the inputs in `dtype`, accumulated in float32."""
  return jnp.einsum('bd,ud->bu', x.astype(dtype), w.astype(dtype),
                    preferred_element_type=jnp.float32)


class SOM(nn.Module):
  rows: int = 10
  cols: int = 10
  dtype: str = 'float32'        # dtype of the x.w inputs ('bfloat16': float32 accumulation)

  @nn.compact
  def __call__(self, x, train: bool = False):
    del train
    x = x.reshape(x.shape[0], -1).astype(jnp.float32)
    w = self.param('prototypes', nn.initializers.uniform(1.0), (self.rows * self.cols, x.shape[-1]))
    # |x - w|^2 = |x|^2 - 2 x.w + |w|^2: one matmul, as for any batch of distances.
    d2 = (jnp.sum(x * x, -1, keepdims=True) - 2 * cross(x, w, self.dtype)
          + jnp.sum(w * w, -1)[None, :])
    return jnp.maximum(d2, 0.0)


VARIANTS = {
    'tiny': (SOM, dict(rows=3, cols=4)),
    # Kohonen 1990 (Fig. 9, the phonotopic map) and most SOM tutorials: a 10 x 10 sheet.
    'kohonen10x10': (SOM, dict(rows=10, cols=10)),
    # A larger sheet for the 8x8 digits (the SOM Toolbox's rule of thumb 5 sqrt(N) ~ 190 units).
    'digits': (SOM, dict(rows=12, cols=16)),
    # A small sheet for iris (150 flowers; 5 sqrt(150) ~ 60 units).
    'iris': (SOM, dict(rows=6, cols=10)),
    # Fashion-MNIST (60,000 28x28 images): a 20 x 20 sheet, the size of the classic MNIST maps.
    'fashion': (SOM, dict(rows=20, cols=20)),
}
