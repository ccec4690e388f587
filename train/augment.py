"""Train-time augmentation named in `config.data.augment`: random crops, flips and rotations of a
whole batch of images at once (vectorized numpy on the host, no imaging library).

  c.data.augment = ('random_crop(pad=2)', 'flip_left_right()', 'rotate(degrees=10)')

Steps are named as config.data.preprocess's are (calls with literal keyword arguments, checked
when the config is validated), and each takes `key='image'`, the batch entry it changes.

Where (train.data.Pipeline.train_batch): on the train split's batch only, never on eval batches or
the 'val_' stream; after the cache and after scale_images, so the images are float32 in [0, 1]
and the crop's padding and the rotation's fill are 0 (black); before config.data.mean/std, which
normalizes every stream last, so a padded pixel is normalized like a black one.

Randomness: each example's draws are a counter-based hash (splitmix64) of (seed, step, the
example's position in the step's global batch, the step's index in the list, the draw), with no
generator state. A batch is then augmented the same whichever process or thread prepares it, and
a resumed run exactly as the uninterrupted one. Hashing a batch of 512 takes ~35 us; a numpy
Generator per example (default_rng([seed, step, position])) took ~6 ms.
"""

import dataclasses
import math
from typing import Callable

import numpy as np

from train import preprocess
from train.errors import UserError


# -- randomness ------------------------------------------------------------------------------------
def _u64(v: int) -> np.ndarray:
  """An integer (a negative seed too) as a 1-element uint64 array: arrays wrap silently."""
  return np.array([int(v) % 2**64], np.uint64)


def _mix(z: np.ndarray) -> np.ndarray:
  """splitmix64's finalizer: a bijection of uint64 that scatters every input bit."""
  z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
  z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
  return z ^ (z >> np.uint64(31))


def uniform(seed: int, step: int, positions, stream: int, draws: int) -> np.ndarray:
  """[len(positions), draws] float64 in [0, 1): a pure function of each argument tuple."""
  h = _mix(_u64(seed) + np.uint64(0x9E3779B97F4A7C15))
  h = _mix(_mix(h + _u64(step)) + _u64(stream))
  h = _mix(h + np.asarray(positions, np.int64).astype(np.uint64)[:, None])
  h = _mix(h + np.arange(draws, dtype=np.uint64)[None, :])
  return (h >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


# -- steps ----------------------------------------------------------------------------------------
# Each checks its arguments (a bad value fails when the config is validated) and returns a Step:
# fn(images [B, H, W, C], u [B, draws] uniform in [0, 1)) -> images.
@dataclasses.dataclass(frozen=True)
class Step:
  key: str
  draws: int
  fn: Callable[[np.ndarray, np.ndarray], np.ndarray]


def _check(ok: bool, message: str):
  if not ok:
    raise UserError(message)


def _number(v) -> bool:
  return isinstance(v, (int, float)) and not isinstance(v, bool)


def random_crop(pad: int = 2, key: str = 'image') -> Step:
  """Zero-pad by `pad` on each side, crop back to H x W at a random offset: each example shifted
  by its own (dy, dx) in [-pad, pad]^2, the uncovered border 0."""
  _check(isinstance(pad, int) and not isinstance(pad, bool) and pad >= 0,
         f'random_crop(pad={pad!r}): pad must be an integer >= 0')

  def fn(x, u):
    b, h, w = x.shape[:3]
    off = np.floor(u * (2 * pad + 1)).astype(np.intp)           # [B, 2] in 0 .. 2*pad
    padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    rows = off[:, :1] + np.arange(h)                             # [B, H]
    cols = off[:, 1:] + np.arange(w)                             # [B, W]
    return padded[np.arange(b)[:, None, None], rows[:, :, None], cols[:, None, :]]
  return Step(key, 2, fn)


def _flip(name: str, axis: int, p, key: str) -> Step:
  _check(_number(p) and 0 <= p <= 1, f'{name}(p={p!r}): p must be a probability in [0, 1]')

  def fn(x, u):
    flip = u[:, 0] < p
    out = x.copy()
    out[flip] = np.flip(x[flip], axis)
    return out
  return Step(key, 1, fn)


def flip_left_right(p: float = 0.5, key: str = 'image') -> Step:
  """Mirror each example's columns with probability p."""
  return _flip('flip_left_right', 2, p, key)


def flip_up_down(p: float = 0.5, key: str = 'image') -> Step:
  """Mirror each example's rows with probability p."""
  return _flip('flip_up_down', 1, p, key)


def rotate(degrees: float = 10, key: str = 'image') -> Step:
  """Rotate each example about its centre by its own angle, uniform in [-degrees, degrees]."""
  _check(_number(degrees) and degrees >= 0, f'rotate(degrees={degrees!r}): degrees must be >= 0')
  return Step(key, 1, lambda x, u: rotate_images(x, (2 * u[:, 0] - 1) * degrees))


def rotate_images(x: np.ndarray, degrees) -> np.ndarray:
  """[B, H, W, C] images each rotated counter-clockwise (as np.rot90) by its angle in degrees
  about the image centre: bilinear, 0 outside the image. Vectorized over chunks of ~32k pixels
  (one gather of four corners each): over the whole batch at once, the temporaries outgrow the
  cache and the batch takes twice as long."""
  b, h, w = x.shape[:3]
  # Each example's sine and cosine by libm, one at a time: numpy's vectorized ones may round an
  # element differently by where it falls in a SIMD pass, i.e. by the batch's length (processes).
  t = [math.radians(a) for a in np.asarray(degrees, np.float64).reshape(b).tolist()]
  cos = np.array([math.cos(a) for a in t], np.float32).reshape(b, 1, 1)
  sin = np.array([math.sin(a) for a in t], np.float32).reshape(b, 1, 1)
  chunk = max(1, 32768 // (h * w))
  return np.concatenate([_rotate(x[k:k + chunk], cos[k:k + chunk], sin[k:k + chunk])
                         for k in range(0, b, chunk)])


def _rotate(x, cos, sin):
  b, h, w, c = x.shape
  i = np.arange(h, dtype=np.float32)[:, None] - np.float32((h - 1) / 2)
  j = np.arange(w, dtype=np.float32)[None, :] - np.float32((w - 1) / 2)
  # The source of each output pixel, in a copy with a border of zeros (so + 1), where anything
  # outside the image reads the border.
  si = cos * i + sin * j + np.float32((h + 1) / 2)
  sj = cos * j - sin * i + np.float32((w + 1) / 2)
  i0, j0 = np.floor(si), np.floor(sj)
  wi, wj = (si - i0)[..., None], (sj - j0)[..., None]
  base = (np.arange(b, dtype=np.int32) * ((h + 2) * (w + 2))).reshape(b, 1, 1)
  r0 = np.clip(i0, 0, h + 1).astype(np.int32) * (w + 2) + base
  r1 = np.clip(i0 + 1, 0, h + 1).astype(np.int32) * (w + 2) + base
  c0 = np.clip(j0, 0, w + 1).astype(np.int32)
  c1 = np.clip(j0 + 1, 0, w + 1).astype(np.int32)
  flat = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0))).reshape(-1, c)
  v00, v01, v10, v11 = flat.take(np.stack([r0 + c0, r0 + c1, r1 + c0, r1 + c1]), 0)
  top = v00 + wj * (v01 - v00)
  return (top + wi * (v10 + wj * (v11 - v10) - top)).astype(x.dtype)


STEPS = {
    'random_crop': random_crop,
    'flip_left_right': flip_left_right,
    'flip_up_down': flip_up_down,
    'rotate': rotate,
}


def parse(spec: str) -> Step:
  step, kwargs = preprocess.parse_call(spec, STEPS, kind='augment step', leading=0)
  return step(**kwargs)


def compose(specs, seed: int) -> Callable[[dict, int, np.ndarray], dict] | None:
  """All steps of config.data.augment as one function (batch, step, positions) -> batch, where
  positions are the batch's examples' places in the step's global batch; None when empty."""
  specs = (specs,) if isinstance(specs, str) else tuple(specs)
  steps = [parse(s) for s in specs]
  if not steps:
    return None

  def apply(batch: dict, step: int, positions: np.ndarray) -> dict:
    batch = dict(batch)
    for stream, (spec, s) in enumerate(zip(specs, steps)):
      x = batch.get(s.key)
      if x is None or x.ndim not in (3, 4):
        raise UserError(f'augment step {spec!r}: the batch has no images [B, H, W(, C)] under '
                        f'{s.key!r}; it has {sorted(batch)}')
      u = uniform(seed, step, positions, stream, s.draws)
      y = s.fn(x[..., None] if x.ndim == 3 else x, u)
      batch[s.key] = y[..., 0] if x.ndim == 3 else y
    return batch
  return apply
