"""Input steps named in `config.data.preprocess`: raw TFDS features -> the arrays a model reads.

Real data sets hold what the offline ones do not: text (`tf.string` features, read as Python
strings), images of a size no model wants, nested feature dicts. Each step is a function of ONE
example (a dict of features) returning the new example; the pipeline applies the steps in order to
every record it reads, before examples are stacked into a batch, so variable-length text and
images of any size are fine as inputs. A step is named in the config as a call with literal
keyword arguments, so it can be changed from the command line like any other key:

  c.data.preprocess = ('tokenize_bytes(key="text", out="tokens", length=257, bos=True, '
                       'mask="loss_mask")',)
  --config.data.preprocess='("keep(keys=(\\"image\\",))", "center_crop(size=108)", ...)'

Text is tokenized as UTF-8 bytes, so no vocabulary file is needed anywhere: ids 0..255 are the
byte values and three special ids follow them (PAD, BOS, EOS below; BYTE_VOCAB = 259 in all). A
model of such text takes vocab_size=BYTE_VOCAB, Seq2Seq its bos_id=BOS and pad_id=PAD.

Images are cropped and resized with an antialiased linear filter (the triangle kernel widened by
the scale factor, as jax.image.resize(..., antialias=True) does), written in numpy so the data
threads never touch the accelerator and no imaging library is needed.
"""

import ast
import functools
import inspect
from typing import Callable

import numpy as np

from train.errors import UserError

PAD, BOS, EOS = 256, 257, 258
BYTE_VOCAB = 259


# -- text ------------------------------------------------------------------------------------------
def tokenize_bytes(example, key: str, out: str = '', length: int = 128, bos: bool = False,
                   eos: bool = True, mask: str = ''):
  """example[key] (text) -> example[out]: int32 [length] = [BOS] bytes [EOS] PAD ..., truncated.

  `mask`: also write a float32 [length] weight that is 1 on the byte and EOS tokens (what a loss
  should score) and 0 on BOS and padding. The text feature itself is dropped (strings cannot go
  to a device). A truncated text loses its EOS: it did not end there.
  """
  text = example[key]
  if isinstance(text, np.ndarray):
    text = text.item()
  data = text.encode('utf-8') if isinstance(text, str) else bytes(text)
  ids = ([BOS] if bos else []) + list(data) + ([EOS] if eos else [])
  ids = ids[:length]
  tokens = np.full(length, PAD, np.int32)
  tokens[:len(ids)] = ids
  new = {k: v for k, v in example.items() if k != key}
  new[out or key] = tokens
  if mask:
    weights = np.zeros(length, np.float32)
    weights[int(bos):len(ids)] = 1.0
    new[mask] = weights
  return new


def decode_bytes(tokens) -> str:
  """The text of byte-level tokens: specials are dropped, invalid UTF-8 is replaced."""
  tokens = np.asarray(tokens)
  return bytes(tokens[(tokens >= 0) & (tokens < 256)].astype(np.uint8).tolist()).decode(
      'utf-8', 'replace')


# -- images ----------------------------------------------------------------------------------------
def center_crop(example, size=0, key: str = 'image'):
  """The central size x size window (size 0: the largest central square) of an [H, W, C] image."""
  image = np.asarray(example[key])
  h, w = image.shape[:2]
  ch, cw = (size, size) if isinstance(size, int) else tuple(size)
  if not ch:
    ch = cw = min(h, w)
  if ch > h or cw > w:
    raise UserError(f'center_crop({ch}x{cw}) of a {h}x{w} image')
  top, left = (h - ch) // 2, (w - cw) // 2
  return {**example, key: image[top:top + ch, left:left + cw]}


@functools.lru_cache(maxsize=32)
def resize_weights(size_in: int, size_out: int) -> np.ndarray:
  """[size_out, size_in] rows of an antialiased linear resampling (each row sums to 1)."""
  scale = size_in / size_out
  width = max(scale, 1.0)             # downsampling widens the kernel: every input pixel counts
  centres = (np.arange(size_out) + 0.5) * scale - 0.5
  w = np.maximum(0.0, 1.0 - np.abs(np.arange(size_in)[None, :] - centres[:, None]) / width)
  return (w / w.sum(1, keepdims=True)).astype(np.float32)


def resize(example, size=64, key: str = 'image'):
  """[H, W, C] -> [size, size, C] float32 on the input's value scale (uint8 stays 0..255)."""
  image = np.asarray(example[key])
  sh, sw = (size, size) if isinstance(size, int) else tuple(size)
  rows, cols = resize_weights(image.shape[0], sh), resize_weights(image.shape[1], sw)
  out = np.tensordot(rows, image.astype(np.float32), axes=(1, 0))        # [sh, W, C]
  out = np.tensordot(out, cols, axes=(1, 1)).transpose(0, 2, 1)           # [sh, sw, C]
  if image.dtype == np.uint8:   # keep the dtype, so value_range and the default scaling apply
    out = np.clip(np.round(out), 0, 255).astype(np.uint8)
  return {**example, key: out}


def value_range(example, low: float = -1.0, high: float = 1.0, key: str = 'image',
                in_max: float = 255.0):
  """Pixels 0..in_max -> float32 in [low, high] (DCGAN's tanh output range is [-1, 1])."""
  x = np.asarray(example[key], np.float32) / in_max
  return {**example, key: (low + (high - low) * x).astype(np.float32)}


# -- structure -------------------------------------------------------------------------------------
def keep(example, keys=()):
  """Only these features (a real data set's labels, ids and nested dicts are dropped)."""
  missing = [k for k in keys if k not in example]
  if missing:
    raise UserError(f'keep{tuple(keys)}: the example has no {missing}; it has {sorted(example)}')
  return {k: example[k] for k in keys}


def rename(example, pairs=()):
  """((old, new), ...): e.g. a translation pair's 'en' and 'de' as 'source' and 'target'."""
  out = dict(example)
  for old, new in pairs:
    out[new] = out.pop(old)
  return out


STEPS = {
    'tokenize_bytes': tokenize_bytes,
    'center_crop': center_crop,
    'resize': resize,
    'value_range': value_range,
    'keep': keep,
    'rename': rename,
}


def parse_call(spec: str, steps: dict, kind: str = 'input step', leading: int = 1):
  """'name(k=literal, ...)' (or a bare 'name') -> (steps[name], kwargs), checked against the
  step's signature (after its `leading` positional arguments): a misspelt name or argument is a
  UserError naming the valid ones. Shared by config.data.preprocess and config.data.augment."""
  if not isinstance(spec, str):
    raise UserError(f'{kind} {spec!r} is not a string of the form name(key=value, ...)')
  try:
    node = ast.parse(spec.strip(), mode='eval').body
  except SyntaxError:
    node = None
  if isinstance(node, ast.Name):
    name, kwargs = node.id, {}
  elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.args:
    name = node.func.id
    try:
      kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords}
    except ValueError:
      raise UserError(f'{kind} {spec!r}: arguments must be literals') from None
  else:
    raise UserError(f'{kind} {spec!r} is not of the form name(key=value, ...)')
  if name not in steps:
    raise UserError(f'unknown {kind} {name!r} in {spec!r}; known: {", ".join(sorted(steps))}')
  signature = inspect.signature(steps[name])
  try:
    signature.bind(*[None] * leading, **kwargs)
  except TypeError as e:
    args = ', '.join(list(signature.parameters)[leading:]) or 'none'
    raise UserError(f'{kind} {spec!r}: {e}; its arguments: {args}') from None
  return steps[name], kwargs


def parse(spec: str) -> Callable[[dict], dict]:
  """'name(k=literal, ...)' (or a bare 'name') -> the step as a function of one example."""
  step, kwargs = parse_call(spec, STEPS)
  return functools.partial(step, **kwargs)


def compose(specs) -> Callable[[dict], dict]:
  """All steps of config.data.preprocess as one function of an example."""
  specs = (specs,) if isinstance(specs, str) else tuple(specs)
  steps = [parse(s) for s in specs]

  def apply(example):
    for step in steps:
      example = step(example)
    return example
  return apply
