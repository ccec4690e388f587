"""Transformers: pre-LayerNorm blocks; a decoder-only language model, an encoder classifier, ViT.

Vaswani et al. 2017, "Attention is all you need" (the block, sinusoidal positions); pre-LN as in
Xiong et al. 2020, "On layer normalization in the Transformer architecture" (and GPT-2); Radford et
al. 2019 (decoder-only LM); Devlin et al. 2019 (encoder classifier); Dosovitskiy et al. 2021 (ViT).

Attention is `jax.nn.dot_product_attention` (XLA picks the kernel per platform). Masks are boolean,
True = may attend. Autoregressive sampling keeps a key/value cache: one decode step computes the
query, key and value of one new token, writes the key and value into the cache at its position and
attends over the cache up to it, so a sample of n tokens costs n one-token steps, not n full passes.
The cache is an explicit pytree (per layer: keys, values [B, max_len, heads, head_dim]).
"""


import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from models.mlp import ACTIVATIONS


def sinusoidal_positions(length: int, d_model: int) -> np.ndarray:
  """Vaswani et al. 2017, Sec. 3.5: sin/cos of position / 10000^(2i/d), [length, d_model]."""
  pos = np.arange(length)[:, None]
  i = np.arange(0, d_model, 2)[None, :]
  angle = pos / np.power(10000.0, i / d_model)
  table = np.zeros((length, d_model), np.float32)
  table[:, 0::2] = np.sin(angle)
  table[:, 1::2] = np.cos(angle)[:, :d_model // 2]
  return table


def explicit_attention(q, k, v, mask=None, is_causal: bool = False):
  """softmax(q k^T / sqrt(d) + mask) v written out, [B, T, N, H] in and out.

  The same function as jax.nn.dot_product_attention's XLA path; written out, XLA:CPU fuses the
  scale, mask and softmax into fewer passes (the `attention='explicit'` lever).
  """
  scores = jnp.einsum('btnh,bsnh->bnts', q * (q.shape[-1] ** -0.5), k)
  allowed = None if mask is None else mask
  if is_causal:
    causal = jnp.tril(jnp.ones((q.shape[1], k.shape[1]), bool))
    allowed = causal if allowed is None else allowed & causal
  if allowed is not None:
    scores = jnp.where(allowed, scores, jnp.finfo(scores.dtype).min)
  weights = jax.nn.softmax(scores.astype(jnp.float32), axis=-1).astype(v.dtype)  # f32 softmax
  return jnp.einsum('bnts,bsnh->btnh', weights, v)


def cudnn_attention(q, k, v, mask=None, is_causal: bool = False):
  """cuDNN's fused (flash) attention on NVIDIA GPUs: bf16/f16 inputs, head_dim <= 128 (256 on
  Hopper); the score matrix never reaches device memory."""
  return jax.nn.dot_product_attention(q, k, v, mask=mask, is_causal=is_causal,
                                      implementation='cudnn')


# The self-attention kernel (model.attention): the same function, different kernels.
ATTENTION = {'xla': jax.nn.dot_product_attention, 'explicit': explicit_attention,
             'cudnn': cudnn_attention}


class Attention(nn.Module):
  """Multi-head attention of x over `context` (itself when None)."""
  num_heads: int
  d_model: int
  attention: str = 'xla'
  dtype: str = 'float32'        # compute dtype; parameters stay float32

  def setup(self):
    head_dim = self.d_model // self.num_heads
    self.query = nn.DenseGeneral((self.num_heads, head_dim), dtype=self.dtype)
    self.key = nn.DenseGeneral((self.num_heads, head_dim), dtype=self.dtype)
    self.value = nn.DenseGeneral((self.num_heads, head_dim), dtype=self.dtype)
    self.out = nn.DenseGeneral(self.d_model, axis=(-2, -1), dtype=self.dtype)

  def __call__(self, x, context=None, mask=None, causal: bool = False):
    context = x if context is None else context
    q, k, v = self.query(x), self.key(context), self.value(context)
    return self.out(ATTENTION[self.attention](q, k, v, mask=mask, is_causal=causal))

  def step(self, x, cache, index):
    """x [B, 1, D] at position `index`; cache (keys, values) [B, L, N, H] -> (out, cache)."""
    keys, values = cache
    q, k, v = self.query(x), self.key(x), self.value(x)
    keys = jax.lax.dynamic_update_slice_in_dim(keys, k.astype(keys.dtype), index, axis=1)
    values = jax.lax.dynamic_update_slice_in_dim(values, v.astype(values.dtype), index, axis=1)
    lengths = jnp.full((x.shape[0],), index + 1, jnp.int32)  # attend to positions 0..index
    out = jax.nn.dot_product_attention(q, keys, values, key_value_seq_lengths=lengths)
    return self.out(out), (keys, values)


class Block(nn.Module):
  """Pre-LN block: x + Attn(LN(x)) [+ CrossAttn(LN(x), memory)], then x + MLP(LN(x))."""
  d_model: int
  num_heads: int
  mlp_dim: int
  dropout: float = 0.0
  activation: str = 'gelu'
  cross: bool = False           # encoder-decoder: attend to an encoder's output too
  attention: str = 'xla'        # a key of ATTENTION: 'xla' | 'explicit' | 'cudnn'
  dtype: str = 'float32'        # compute dtype ('bfloat16': mixed precision, float32 parameters)

  def setup(self):
    if self.attention not in ATTENTION:
      raise ValueError(f'unknown attention {self.attention!r}; use one of {", ".join(ATTENTION)}')
    self.ln_attn = nn.LayerNorm(dtype=self.dtype)
    self.attn = Attention(self.num_heads, self.d_model, self.attention, self.dtype)
    if self.cross:
      self.ln_cross = nn.LayerNorm(dtype=self.dtype)
      self.cross_attn = Attention(self.num_heads, self.d_model, dtype=self.dtype)
    self.ln_mlp = nn.LayerNorm(dtype=self.dtype)
    self.mlp_in = nn.Dense(self.mlp_dim, dtype=self.dtype)
    self.mlp_out = nn.Dense(self.d_model, dtype=self.dtype)
    self.drop = nn.Dropout(self.dropout)

  def _mlp(self, x, train):
    h = ACTIVATIONS[self.activation](self.mlp_in(self.ln_mlp(x)))
    return x + self.drop(self.mlp_out(h), deterministic=not train)

  def __call__(self, x, mask=None, causal=False, train=False, memory=None, memory_mask=None):
    x = x + self.drop(self.attn(self.ln_attn(x), mask=mask, causal=causal), deterministic=not train)
    if self.cross:
      h = self.cross_attn(self.ln_cross(x), context=memory, mask=memory_mask)
      x = x + self.drop(h, deterministic=not train)
    return self._mlp(x, train)

  def step(self, x, cache, index, memory=None, memory_mask=None):
    h, cache = self.attn.step(self.ln_attn(x), cache, index)
    x = x + h
    if self.cross:
      x = x + self.cross_attn(self.ln_cross(x), context=memory, mask=memory_mask)
    return self._mlp(x, False), cache


class Embedding(nn.Module):
  """Token embedding + learned or sinusoidal positions (+ dropout)."""
  vocab_size: int
  d_model: int
  max_len: int
  positions: str = 'learned'    # 'learned' | 'sinusoidal'
  dropout: float = 0.0
  dtype: str = 'float32'

  def setup(self):
    self.tokens = nn.Embed(self.vocab_size, self.d_model, dtype=self.dtype)
    if self.positions == 'learned':
      self.pos = self.param('positions', nn.initializers.normal(0.02), (self.max_len, self.d_model))
    elif self.positions == 'sinusoidal':
      self.pos = jnp.asarray(sinusoidal_positions(self.max_len, self.d_model))
    else:
      raise ValueError(f'unknown positions {self.positions!r}; use learned or sinusoidal')
    self.drop = nn.Dropout(self.dropout)

  def __call__(self, tokens, train=False, offset=0):
    pos = jax.lax.dynamic_slice_in_dim(self.pos, offset, tokens.shape[1], axis=0)
    x = self.tokens(tokens) + pos[None].astype(self.dtype)
    return self.drop(x, deterministic=not train)


class TransformerLM(nn.Module):
  """Decoder-only language model: tokens [B, T] -> next-token logits [B, T, vocab]."""
  vocab_size: int = 256
  max_len: int = 128
  d_model: int = 256
  num_layers: int = 4
  num_heads: int = 4
  mlp_dim: int = 1024
  dropout: float = 0.0
  positions: str = 'learned'
  activation: str = 'gelu'
  # Self-attention kernel: 'explicit' (4% faster step on CPU) | 'xla' | 'cudnn' (GPU, bf16).
  attention: str = 'explicit'
  # Compute dtype: 'bfloat16' computes in bf16 with float32 parameters, optimizer state and loss.
  dtype: str = 'float32'

  def setup(self):
    self.embed = Embedding(self.vocab_size, self.d_model, self.max_len, self.positions,
                           self.dropout, self.dtype)
    self.blocks = [Block(self.d_model, self.num_heads, self.mlp_dim, self.dropout, self.activation,
                         attention=self.attention, dtype=self.dtype)
                   for _ in range(self.num_layers)]
    self.ln_final = nn.LayerNorm(dtype=self.dtype)
    self.head = nn.Dense(self.vocab_size, dtype=self.dtype)

  def __call__(self, tokens, train: bool = False):
    x = self.embed(tokens, train)
    for block in self.blocks:
      x = block(x, causal=True, train=train)
    return self.head(self.ln_final(x))

  def init_cache(self, batch: int, dtype=jnp.float32):
    shape = (batch, self.max_len, self.num_heads, self.d_model // self.num_heads)
    return [(jnp.zeros(shape, dtype), jnp.zeros(shape, dtype)) for _ in range(self.num_layers)]

  def decode_step(self, token, cache, index):
    """token [B] at position `index` -> (logits [B, vocab] for position index + 1, cache)."""
    x = self.embed(token[:, None], offset=index)
    new_cache = []
    for block, layer_cache in zip(self.blocks, cache):
      x, layer_cache = block.step(x, layer_cache, index)
      new_cache.append(layer_cache)
    return self.head(self.ln_final(x))[:, 0], new_cache


def generate(model: TransformerLM, variables, prompt, num_tokens: int, rng,
             temperature: float = 1.0):
  """Continues prompt [B, P] by num_tokens tokens with the KV cache; returns [B, P + num_tokens].

  temperature 0 is greedy decoding. One scan over positions: while inside the prompt the next
  input is the prompt's token, afterwards it is the token just sampled.
  """
  batch, plen = prompt.shape
  total = plen + num_tokens
  if total > model.max_len + 1:
    raise ValueError(f'prompt {plen} + {num_tokens} tokens exceeds max_len {model.max_len} + 1')
  tokens = jnp.zeros((batch, total), prompt.dtype).at[:, :plen].set(prompt)
  cache = model.init_cache(batch)

  def step(carry, index):
    tokens, cache = carry
    logits, cache = model.apply(variables, tokens[:, index], cache, index,
                                method=TransformerLM.decode_step)
    if temperature > 0:
      key = jax.random.fold_in(rng, index)
      nxt = jax.random.categorical(key, logits / temperature, axis=-1)
    else:
      nxt = jnp.argmax(logits, -1)
    keep = index + 1 < plen  # still inside the prompt: keep its token
    nxt = jnp.where(keep, tokens[:, index + 1], nxt.astype(tokens.dtype))
    tokens = jax.lax.dynamic_update_slice_in_dim(tokens, nxt[:, None], index + 1, axis=1)
    return (tokens, cache), None

  (tokens, _), _ = jax.lax.scan(step, (tokens, cache), jnp.arange(total - 1))
  return tokens


class Seq2Seq(nn.Module):
  """Encoder-decoder (Vaswani et al. 2017, Fig. 1): source [B, S] -> logits over targets [B, T, V].

  Training is teacher-forced: the decoder reads bos_id followed by targets[:, :-1], causally, and
  attends to the encoder's output. `greedy` decodes without the targets. Source tokens equal to
  pad_id (padded text) are masked out of the encoder's attention and of the cross-attention.
  """
  vocab_size: int = 16
  max_len: int = 32
  d_model: int = 64
  num_layers: int = 2
  num_heads: int = 4
  mlp_dim: int = 256
  dropout: float = 0.0
  positions: str = 'learned'
  activation: str = 'gelu'
  bos_id: int = 0
  pad_id: int = -1              # -1: sources are never padded
  dtype: str = 'float32'        # compute dtype ('bfloat16': mixed precision, float32 parameters)

  def setup(self):
    dt = self.dtype
    self.source_embed = Embedding(self.vocab_size, self.d_model, self.max_len, self.positions,
                                  self.dropout, dt)
    self.target_embed = Embedding(self.vocab_size, self.d_model, self.max_len, self.positions,
                                  self.dropout, dt)
    self.encoder = [Block(self.d_model, self.num_heads, self.mlp_dim, self.dropout,
                          self.activation, dtype=dt) for _ in range(self.num_layers)]
    self.decoder = [Block(self.d_model, self.num_heads, self.mlp_dim, self.dropout,
                          self.activation, cross=True, dtype=dt) for _ in range(self.num_layers)]
    self.ln_encoder = nn.LayerNorm(dtype=dt)
    self.ln_decoder = nn.LayerNorm(dtype=dt)
    self.head = nn.Dense(self.vocab_size, dtype=dt)

  def source_mask(self, source):
    """[B, 1 (heads), 1 (queries), S (keys)]: True where a source token may be attended to."""
    if self.pad_id < 0:
      return None
    return (source != self.pad_id)[:, None, None, :]

  def encode(self, source, train=False):
    x = self.source_embed(source, train)
    mask = self.source_mask(source)
    for block in self.encoder:
      x = block(x, mask=mask, train=train)
    return self.ln_encoder(x)

  def decode(self, memory, decoder_input, train=False, memory_mask=None):
    x = self.target_embed(decoder_input, train)
    for block in self.decoder:
      x = block(x, causal=True, train=train, memory=memory, memory_mask=memory_mask)
    return self.head(self.ln_decoder(x))

  def __call__(self, source, train: bool = False, targets=None):
    if targets is None:
      raise ValueError('Seq2Seq needs targets for teacher forcing; use greedy() to decode')
    bos = jnp.full((targets.shape[0], 1), self.bos_id, targets.dtype)
    return self.decode(self.encode(source, train), jnp.concatenate([bos, targets[:, :-1]], 1),
                       train, self.source_mask(source))

  def greedy(self, source, length: int):
    """[B, length] tokens, each the argmax given the source and the tokens before it.

    Recomputes the (causal) decoder over the whole buffer per step: positions not yet decoded
    hold padding that causal attention never lets earlier positions see.
    """
    memory, memory_mask = self.encode(source), self.source_mask(source)
    buf = jnp.full((source.shape[0], length + 1), self.bos_id, source.dtype)

    def body(t, buf):
      logits = self.decode(memory, buf[:, :-1], memory_mask=memory_mask)
      return buf.at[:, t + 1].set(jnp.argmax(logits[:, t], -1).astype(buf.dtype))

    return jax.lax.fori_loop(0, length, body, buf)[:, 1:]


class TransformerEncoder(nn.Module):
  """Encoder classifier: tokens [B, T] (pad_id = padding) -> logits [B, num_classes].

  Padding is masked out of attention and of the mean over positions that feeds the head.
  """
  vocab_size: int = 256
  max_len: int = 128
  d_model: int = 128
  num_layers: int = 2
  num_heads: int = 4
  mlp_dim: int = 512
  num_classes: int = 2
  dropout: float = 0.0
  positions: str = 'learned'
  activation: str = 'gelu'
  pad_id: int = -1              # -1: no padding token
  dtype: str = 'float32'        # compute dtype ('bfloat16': mixed precision, float32 parameters)

  @nn.compact
  def __call__(self, tokens, train: bool = False):
    dt = self.dtype
    valid = tokens != self.pad_id
    x = Embedding(self.vocab_size, self.d_model, self.max_len, self.positions, self.dropout, dt)(
        tokens, train)
    mask = valid[:, None, None, :]  # [B, 1 (heads), 1 (queries), T (keys)]
    for _ in range(self.num_layers):
      x = Block(self.d_model, self.num_heads, self.mlp_dim, self.dropout, self.activation,
                dtype=dt)(x, mask=mask, train=train)
    x = nn.LayerNorm(dtype=dt)(x)
    w = valid[..., None].astype(x.dtype)
    pooled = (x * w).sum(1) / jnp.maximum(w.sum(1), 1.0)
    return nn.Dense(self.num_classes, dtype=dt)(pooled)


class ViT(nn.Module):
  """Vision Transformer: non-overlapping patches -> linear embedding + [class] token -> encoder."""
  patch: int = 4
  d_model: int = 64
  num_layers: int = 2
  num_heads: int = 4
  mlp_dim: int = 128
  num_classes: int = 10
  dropout: float = 0.0
  dtype: str = 'float32'        # compute dtype ('bfloat16': mixed precision, float32 parameters)

  @nn.compact
  def __call__(self, images, train: bool = False):
    dt = self.dtype
    b, h, w, c = images.shape
    p = self.patch
    x = images.reshape(b, h // p, p, w // p, p, c).transpose(0, 1, 3, 2, 4, 5)
    x = nn.Dense(self.d_model, name='patch_embed', dtype=dt)(
        x.reshape(b, (h // p) * (w // p), p * p * c))
    cls = self.param('cls', nn.initializers.zeros, (1, 1, self.d_model)).astype(dt)
    x = jnp.concatenate([jnp.broadcast_to(cls, (b, 1, self.d_model)), x], 1)
    x = x + self.param('positions', nn.initializers.normal(0.02), x.shape[1:])[None].astype(dt)
    x = nn.Dropout(self.dropout, deterministic=not train)(x)
    for _ in range(self.num_layers):
      x = Block(self.d_model, self.num_heads, self.mlp_dim, self.dropout, dtype=dt)(
          x, train=train)
    return nn.Dense(self.num_classes, dtype=dt)(nn.LayerNorm(dtype=dt)(x[:, 0]))


VARIANTS = {
    'tiny': (TransformerLM, dict(vocab_size=16, max_len=32, d_model=16, num_layers=2, num_heads=2,
                                 mlp_dim=32)),
    # Our algorithmic claim: 2 layers, reverse/copy/sort of 8 digits (vocab 12, 17 tokens).
    'algorithmic': (TransformerLM, dict(vocab_size=12, max_len=16, d_model=64, num_layers=2,
                                        num_heads=4, mlp_dim=256)),
    # Our char-level claim on Python standard library source (bytes, 128-token windows).
    'char_small': (TransformerLM, dict(vocab_size=256, max_len=128, d_model=128, num_layers=2,
                                       num_heads=4, mlp_dim=512)),
    # The `transformer` workload of train.bench: byte-level, seq 128, d 256, 4 layers, 4 heads,
    # MLP 1024, pre-LN, GELU, learned positions, causal.
    'bench': (TransformerLM, dict(vocab_size=256, max_len=128, d_model=256, num_layers=4,
                                  num_heads=4, mlp_dim=1024)),
    # GPT-2 small (Radford et al. 2019, Table 2 first row): 12 layers, d 768, 12 heads, 1024 ctx.
    'gpt2_small': (TransformerLM, dict(vocab_size=50257, max_len=1024, d_model=768, num_layers=12,
                                       num_heads=12, mlp_dim=3072)),
    # Al-Rfou et al. 2019 ("Character-level language modeling with deeper self-attention"), the
    # 12-layer T12 model on text8/enwik8 (d 512, 8 heads, MLP 2048, 512 context).
    'al_rfou_t12': (TransformerLM, dict(vocab_size=256, max_len=512, d_model=512, num_layers=12,
                                        num_heads=8, mlp_dim=2048)),
    'seq2seq_tiny': (Seq2Seq, dict(vocab_size=12, max_len=16, d_model=16, num_layers=1,
                                   num_heads=2, mlp_dim=32, bos_id=10)),
    # Our algorithmic seq2seq claim: 2+2 layers, 8 digits -> 8 digits, bos = SEP (10).
    'seq2seq_algorithmic': (Seq2Seq, dict(vocab_size=12, max_len=16, d_model=64, num_layers=2,
                                          num_heads=4, mlp_dim=256, bos_id=10)),
    # Transformer base (Vaswani et al. 2017, Table 3 "base"): 6+6 layers, d 512, 8 heads, MLP 2048
    # (37k shared BPE vocabulary; byte-level text sets vocab_size/bos_id/pad_id from the config).
    'transformer_base': (Seq2Seq, dict(vocab_size=37000, max_len=256, d_model=512, num_layers=6,
                                       num_heads=8, mlp_dim=2048, dropout=0.1, bos_id=0,
                                       positions='sinusoidal')),
    'encoder_tiny': (TransformerEncoder, dict(vocab_size=16, max_len=32, d_model=16, num_layers=1,
                                              num_heads=2, mlp_dim=32, num_classes=2)),
    # BERT-base encoder (Devlin et al. 2019, Sec. 3): 12 layers, d 768, 12 heads, MLP 3072.
    'bert_base': (TransformerEncoder, dict(vocab_size=30522, max_len=512, d_model=768,
                                           num_layers=12, num_heads=12, mlp_dim=3072,
                                           dropout=0.1, pad_id=0)),
    'vit_tiny': (ViT, dict(patch=4, d_model=32, num_layers=1, num_heads=2, mlp_dim=64)),
    # ViT-B/16 (Dosovitskiy et al. 2021, Table 1): 12 layers, d 768, 12 heads, MLP 3072.
    'vit_b16': (ViT, dict(patch=16, d_model=768, num_layers=12, num_heads=12, mlp_dim=3072,
                          num_classes=1000, dropout=0.1)),
}
