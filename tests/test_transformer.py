"""Transformers: cached decoding equals recomputation, masks hold, the LM objective learns."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from models import transformer as tr


def tiny_lm(**kw):
  return tr.TransformerLM(**{**tr.VARIANTS['tiny'][1], **kw})


@pytest.mark.slow  # 10-30 s: in CI (.ci/run), out of the 10-minute default run
def test_decode_steps_equal_full_forward():
  model = tiny_lm(positions='sinusoidal')
  tokens = jax.random.randint(jax.random.PRNGKey(0), (2, 9), 0, 16)
  variables = model.init(jax.random.PRNGKey(1), tokens)
  full = model.apply(variables, tokens)
  step = jax.jit(lambda t, c, i: model.apply(variables, t, c, i,
                                             method=tr.TransformerLM.decode_step))
  cache, steps = model.init_cache(2), []
  for i in range(tokens.shape[1]):
    logits, cache = step(tokens[:, i], cache, i)
    steps.append(logits)
  np.testing.assert_allclose(np.stack(steps, 1), full, atol=1e-5)


@pytest.mark.slow  # 10-30 s: in CI (.ci/run), out of the 10-minute default run
def test_kv_cache_sampling_equals_recomputation():
  model = tiny_lm()
  prompt = jax.random.randint(jax.random.PRNGKey(2), (3, 4), 0, 16)
  variables = model.init(jax.random.PRNGKey(3), prompt)
  rng = jax.random.PRNGKey(4)
  plen, total = prompt.shape[1], prompt.shape[1] + 10
  # Recomputation over a fixed-size buffer (one compile): causal attention keeps the not yet
  # written tail from influencing the position being predicted.
  forward = jax.jit(model.apply)
  for temperature in (0.0, 1.0):
    cached = jax.jit(lambda v, p: tr.generate(model, v, p, 10, rng, temperature))(variables, prompt)
    tokens = jnp.zeros((3, total), prompt.dtype).at[:, :plen].set(prompt)
    for i in range(plen - 1, total - 1):  # the same keys as generate()
      logits = forward(variables, tokens)[:, i]
      if temperature:
        nxt = jax.random.categorical(jax.random.fold_in(rng, i), logits / temperature, axis=-1)
      else:
        nxt = jnp.argmax(logits, -1)
      tokens = tokens.at[:, i + 1].set(nxt.astype(tokens.dtype))
    np.testing.assert_array_equal(cached, tokens)


def test_causal_mask_hides_the_future():
  model = tiny_lm()
  tokens = jnp.asarray([[1, 2, 3, 4, 5, 6]])
  variables = model.init(jax.random.PRNGKey(0), tokens)
  changed = tokens.at[0, 4:].set(9)
  np.testing.assert_allclose(model.apply(variables, tokens)[0, :4],
                             model.apply(variables, changed)[0, :4], atol=1e-6)


@pytest.mark.slow  # 10-30 s: in CI (.ci/run), out of the 10-minute default run
def test_encoder_ignores_padding():
  model = tr.TransformerEncoder(**{**tr.VARIANTS['encoder_tiny'][1], 'pad_id': 0})
  tokens = jnp.asarray([[3, 4, 5, 0, 0, 0]])
  variables = model.init(jax.random.PRNGKey(0), tokens)
  alone = model.apply(variables, tokens[:, :3])
  np.testing.assert_allclose(model.apply(variables, tokens), alone, atol=1e-5)


@pytest.mark.slow  # 10-30 s: in CI (.ci/run), out of the 10-minute default run
def test_vit_shapes():
  model = tr.ViT(**tr.VARIANTS['vit_tiny'][1])
  images = jnp.ones((2, 8, 8, 1))
  assert model.apply(model.init(jax.random.PRNGKey(0), images), images).shape == (2, 10)


@pytest.mark.slow  # in CI (.ci/run), not in the 10-minute default run
def test_lm_loss_falls_on_reverse(tmp_path, data_dir):
  del data_dir
  from train import config as config_lib
  from train import loop
  config = config_lib.load('experiments/sequence/transformer_reverse.py:tiny')
  with config.unlocked():
    config.num_steps = 100
    config.eval_every = 0
    config.optimizer.learning_rate = 3e-3
    config.optimizer.warmup_steps = 10
    config.plots = True
  summary = loop.train_and_evaluate(config, tmp_path, progress=False)
  # 10 digits: log(10) = 2.30 nats for a model that has learnt nothing but the alphabet
  assert summary['eval']['loss'] < 2.0
  assert summary['eval']['perplexity'] == np.exp(summary['eval']['loss']).item()
  assert (tmp_path / 'sample.txt').exists()


@pytest.mark.slow  # 10-30 s: in CI (.ci/run), out of the 10-minute default run
def test_seq2seq_greedy_is_argmax_of_its_own_prefix():
  model = tr.Seq2Seq(**tr.VARIANTS['seq2seq_tiny'][1])
  source = jax.random.randint(jax.random.PRNGKey(0), (3, 8), 0, 10)
  variables = model.init(jax.random.PRNGKey(1), source, targets=source)
  decoded = jax.jit(lambda v, s: model.apply(v, s, 8, method=tr.Seq2Seq.greedy))(variables, source)
  logits = jax.jit(lambda v, s, t: model.apply(v, s, targets=t))(variables, source, decoded)
  np.testing.assert_array_equal(jnp.argmax(logits, -1), decoded)


@pytest.mark.slow  # 10-35 s: in CI (.ci/run), out of the 10-minute default run
def test_explicit_attention_lever_is_the_same_function():
  """The `attention` lever: written-out softmax attention == jax.nn.dot_product_attention."""
  tokens = jnp.asarray(np.random.default_rng(0).integers(0, 50, size=(2, 12)))
  fast = tr.TransformerLM(vocab_size=50, max_len=12, d_model=32, num_layers=2,
                           num_heads=4, mlp_dim=64, attention="explicit")
  plain = fast.clone(attention='xla')
  params = fast.init(jax.random.PRNGKey(0), tokens)
  np.testing.assert_allclose(fast.apply(params, tokens), plain.apply(params, tokens),
                             rtol=1e-5, atol=1e-5)
  loss = lambda m: lambda p: jnp.mean(jax.nn.log_softmax(m.apply(p, tokens))[..., 7])  # noqa: E731
  for a, b in zip(jax.tree.leaves(jax.grad(loss(fast))(params)),
                  jax.tree.leaves(jax.grad(loss(plain))(params))):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
  # and with a padding mask (no causal part)
  q, k, v = (jax.random.normal(jax.random.PRNGKey(i), (2, 5, 3, 4)) for i in range(3))
  mask = jnp.asarray(np.random.default_rng(1).random((2, 1, 5, 5)) > 0.3) | jnp.eye(5, dtype=bool)
  np.testing.assert_allclose(tr.explicit_attention(q, k, v, mask=mask),
                             jax.nn.dot_product_attention(q, k, v, mask=mask), rtol=1e-5, atol=1e-6)


@pytest.mark.slow  # 10-35 s: in CI (.ci/run), out of the 10-minute default run
def test_bfloat16_compute_keeps_float32_parameters_and_the_function():
  """model.dtype='bfloat16' (mixed precision): parameters stay float32 and identical to the float32
  model's, activations are bf16, and the logits agree with float32 to bf16 rounding."""
  tokens = jnp.asarray(np.random.default_rng(0).integers(0, 50, size=(2, 16)))
  full = tr.TransformerLM(vocab_size=50, max_len=16, d_model=64, num_layers=2, num_heads=4,
                          mlp_dim=128)
  for attention in ('explicit', 'xla'):
    half = full.clone(dtype='bfloat16', attention=attention)
    params = full.init(jax.random.PRNGKey(0), tokens)
    half_params = half.init(jax.random.PRNGKey(0), tokens)
    assert {x.dtype for x in jax.tree.leaves(half_params)} == {jnp.dtype('float32')}
    for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(half_params)):
      np.testing.assert_array_equal(a, b)
    ref, out = full.apply(params, tokens), half.apply(params, tokens)
    assert out.dtype == jnp.bfloat16
    err = float(jnp.linalg.norm(out.astype(jnp.float32) - ref) / jnp.linalg.norm(ref))
    assert 1e-4 < err < 3e-2, (attention, err)   # rounded (not float32), but only by bf16's eps


@pytest.mark.skipif(jax.devices()[0].platform != 'gpu',
                    reason='cuDNN attention needs an NVIDIA GPU '
                           '(run on one by experiments/bench/gpu.sh)')
def test_cudnn_attention_lever_is_the_same_function_on_gpu():
  """model.attention='cudnn' (fused flash attention, bf16) computes the LM's function: against the
  float32 model on the same parameters, its logits and gradients are as close as the bf16 model's
  with explicit attention (the rounding of bf16 itself), on random tokens."""
  tokens = jnp.asarray(np.random.default_rng(0).integers(0, 256, size=(4, 256)))
  reference = tr.TransformerLM(vocab_size=256, max_len=256, d_model=256, num_layers=2,
                               num_heads=4, mlp_dim=512, attention='explicit')
  params = reference.init(jax.random.PRNGKey(0), tokens)
  loss = lambda m: lambda p: jnp.mean(  # noqa: E731
      jax.nn.log_softmax(m.apply(p, tokens).astype(jnp.float32))[..., 7])

  ref_grads = jax.tree.leaves(jax.grad(loss(reference))(params))
  floor = 1e-3 * float(optax.global_norm(ref_grads))   # the key bias's gradient is exactly 0

  def errors(model):   # relative L2 error of the logits and of each gradient leaf vs float32
    def rel(a, b, floor=0.0):
      return float(jnp.linalg.norm(jnp.asarray(a, jnp.float32) - b) / (jnp.linalg.norm(b) + floor))
    out = [rel(model.apply(params, tokens), reference.apply(params, tokens))]
    grads = jax.tree.leaves(jax.grad(loss(model))(params))
    return out + [rel(a, b, floor) for a, b in zip(grads, ref_grads)]
  fused = errors(reference.clone(dtype='bfloat16', attention='cudnn'))
  plain = errors(reference.clone(dtype='bfloat16', attention='explicit'))
  print('cudnn vs f32:', np.round(fused, 4), '\nexplicit bf16 vs f32:', np.round(plain, 4))
  assert max(fused) < 0.1
  for f, p in zip(fused, plain):
    assert f <= 2 * p + 5e-3, (fused, plain)


@pytest.mark.slow  # 10-30 s: in CI (.ci/run), out of the 10-minute default run
def test_seq2seq_ignores_source_padding():
  """Padded text (train/preprocess.py): the decoder's output for a source does not depend on how
  much padding follows it, neither teacher-forced nor greedy."""
  model = tr.Seq2Seq(**{**tr.VARIANTS['seq2seq_tiny'][1], 'pad_id': 11})
  short = jnp.asarray([[3, 4, 5, 11, 11, 11]])
  target = jnp.asarray([[5, 4, 3, 10]])
  variables = model.init(jax.random.PRNGKey(0), short, targets=target)
  alone = model.apply(variables, short[:, :3], targets=target)
  np.testing.assert_allclose(model.apply(variables, short, targets=target), alone, atol=1e-5)
  greedy = lambda s: model.apply(variables, s, 4, method=tr.Seq2Seq.greedy)  # noqa: E731
  np.testing.assert_array_equal(greedy(short), greedy(short[:, :3]))


@pytest.mark.slow  # 10-30 s: in CI (.ci/run), out of the 10-minute default run
def test_seq2seq_objective_scores_only_unmasked_targets():
  from train import config as config_lib
  from train.objectives import seq2seq
  objective = seq2seq.SequenceToSequence(config_lib.base_config(), None, None)
  logits = jax.random.normal(jax.random.PRNGKey(0), (2, 5, 7))
  target = jnp.asarray([[1, 2, 3, 6, 6], [4, 5, 6, 6, 6]])
  mask = jnp.asarray([[1, 1, 1, 0, 0], [1, 1, 1, 1, 0]], jnp.float32)
  batch = {'target': target, 'target_mask': mask}
  loss, metrics = objective.per_example(logits, batch)
  noisy = logits + (1 - mask)[..., None] * jax.random.normal(jax.random.PRNGKey(1), logits.shape)
  loss2, _ = objective.per_example(noisy, batch)
  np.testing.assert_allclose(loss, loss2, rtol=1e-6)
  first, _ = objective.per_example(logits[:1, :3], {'target': target[:1, :3]})
  np.testing.assert_allclose(loss[0], first[0], rtol=1e-6)
  assert metrics['seq_accuracy'].shape == (2,)
