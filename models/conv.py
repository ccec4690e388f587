"""2-D convolution as im2col + one matmul, with nn.Conv's parameters.

On XLA:CPU the convolution kernels keep ~1.2 of 2 cores busy and the input gradient of a strided
convolution falls to a pathological path (seconds for a 9x9 stride-2 layer), while the same
convolution written as strided slices of the input (the patches) times the reshaped kernel is a
plain matmul, whose gradient is a matmul plus pads and adds. `Conv(im2col=False)` calls XLA's
convolution instead; both paths take the same parameters ('kernel' [k, k, C, F], 'bias' [F],
initialized as nn.Conv does) and give the same numbers (tests/test_conv.py), so a checkpoint moves
between them and the choice is only about speed.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
  """XLA's SAME: output ceil(size / stride), the extra pixel of an odd total pad after."""
  out = -(-size // stride)
  total = max((out - 1) * stride + kernel - size, 0)
  return total // 2, total - total // 2


def extract_patches(x, kernel: int, stride: int):
  """VALID patches of x [B, H, W, C] as [B, H', W', k*k*C], ordered (ky, kx, c) like a conv kernel.

  Strided slices and one concatenation: XLA's CPU gradient of this (pads and adds) is fast, unlike
  its input gradient of a strided convolution.
  """
  _, h, w, _ = x.shape
  oh, ow = (h - kernel) // stride + 1, (w - kernel) // stride + 1
  cols = [x[:, i:i + stride * (oh - 1) + 1:stride, j:j + stride * (ow - 1) + 1:stride, :]
          for i in range(kernel) for j in range(kernel)]
  return jnp.concatenate(cols, axis=-1)


class Conv(nn.Module):
  """A k x k convolution of NHWC input, 'SAME' or 'VALID', through im2col or XLA's conv."""
  features: int
  kernel: int
  stride: int = 1
  padding: str = 'VALID'
  im2col: bool = True
  dtype: str = 'float32'        # compute dtype; parameters stay float32 (cast here, as nn.Conv)

  @nn.compact
  def __call__(self, x):
    c = x.shape[-1]
    k = self.param('kernel', nn.initializers.lecun_normal(),
                   (self.kernel, self.kernel, c, self.features))
    bias = self.param('bias', nn.initializers.zeros_init(), (self.features,))
    x, k, bias = (a.astype(self.dtype) for a in (x, k, bias))
    if self.padding not in ('SAME', 'VALID'):
      raise ValueError(f"Conv padding must be 'SAME' or 'VALID', got {self.padding!r}")
    if self.padding == 'SAME':
      pads = [same_padding(n, self.kernel, self.stride) for n in x.shape[1:3]]
    else:
      pads = [(0, 0), (0, 0)]
    if self.im2col:
      if any(p != (0, 0) for p in pads):
        x = jnp.pad(x, [(0, 0), *pads, (0, 0)])
      y = extract_patches(x, self.kernel, self.stride) @ k.reshape(-1, self.features)
    else:
      y = jax.lax.conv_general_dilated(x, k, (self.stride, self.stride), pads,
                                       dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
    return y + bias
