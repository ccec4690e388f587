"""Input steps (train/preprocess.py): text as byte tokens, image crops and resizes, and the
full-scale configs that need them (TFDS lm1b, wmt14_translate, celeb_a) built and stepped on
tfds' mock data at tiny size."""

import jax
import numpy as np
import pytest
import tensorflow_datasets as tfds

from train import config as config_lib
from train import data
from train import loop
from train import preprocess
from train import shapes
from train import sharding as sharding_lib
from train.errors import UserError


def test_text_becomes_bos_bytes_eos_padding_with_a_loss_mask():
  ex = preprocess.tokenize_bytes({'text': 'hé!', 'id': 3}, key='text', out='tokens', length=8,
                                 bos=True, mask='loss_mask')
  assert 'text' not in ex and ex['id'] == 3
  bos, pad, eos = preprocess.BOS, preprocess.PAD, preprocess.EOS
  np.testing.assert_array_equal(ex['tokens'], [bos, 104, 0xC3, 0xA9, 33, eos, pad, pad])
  np.testing.assert_array_equal(ex['loss_mask'], [0, 1, 1, 1, 1, 1, 0, 0])
  assert preprocess.decode_bytes(ex['tokens']) == 'hé!'
  # bytes from an ArrayRecord source tokenize the same; a long text is cut and keeps no EOS
  cut = preprocess.tokenize_bytes({'de': b'abcdef'}, key='de', length=4)
  np.testing.assert_array_equal(cut['de'], [97, 98, 99, 100])


def test_resize_is_antialiased_linear_like_jax_image_resize():
  rng = np.random.default_rng(0)
  image = rng.integers(0, 256, (108, 90, 3)).astype(np.float32)
  ours = preprocess.resize({'image': image}, size=(64, 30))['image']
  ref = jax.image.resize(image, (64, 30, 3), 'linear', antialias=True)
  np.testing.assert_allclose(ours, np.asarray(ref), atol=1e-3)
  up = preprocess.resize({'image': image[:8, :8]}, size=16)['image']
  np.testing.assert_allclose(up, jax.image.resize(image[:8, :8], (16, 16, 3), 'linear'),
                             atol=1e-3)


def test_crop_resize_value_range_give_dcgan_inputs():
  image = np.zeros((218, 178, 3), np.uint8)
  image[55:163, 35:143] = 255                      # the central 108 x 108 is white
  step = preprocess.compose(['keep(keys=("image",))', 'center_crop(size=108)', 'resize(size=64)',
                             'value_range(low=-1.0, high=1.0)'])
  out = step({'image': image, 'attributes': {'Smiling': True}})
  assert list(out) == ['image'] and out['image'].shape == (64, 64, 3)
  assert out['image'].dtype == np.float32 and np.all(out['image'] == 1.0)
  square = preprocess.center_crop({'image': image}, size=0)['image']
  assert square.shape == (178, 178, 3)


def test_steps_are_checked_when_the_config_is_validated():
  c = config_lib.base_config()
  for bad, match in (('tokenise_bytes(key="text")', 'unknown input step'),
                     ('resize(64)', 'not of the form'),
                     ('resize(sise=64)', 'unexpected keyword'),
                     ('resize(size=n)', 'literals')):
    with c.unlocked():
      c.data.preprocess = (bad,)
    with pytest.raises(UserError, match=match):
      config_lib.validate(c)


def _tiny_full(path, **model):
  c = config_lib.load(f'{path}:full')
  with c.unlocked():
    c.data.batch_size = 8
    c.data.eval_batch_size = 8
    for k, v in model.items():
      c.model[k] = v
  return c


TINY_TRANSFORMER = dict(d_model=16, num_layers=1, num_heads=2, mlp_dim=32)


@pytest.mark.parametrize('path,model,keys', [
    ('experiments/sequence/transformer_chars.py', TINY_TRANSFORMER,
     {'tokens': ((8, 257), np.int32), 'loss_mask': ((8, 257), np.float32)}),
    ('experiments/sequence/seq2seq_reverse.py', TINY_TRANSFORMER,
     {'source': ((8, 256), np.int32), 'target': ((8, 256), np.int32),
      'target_mask': ((8, 256), np.float32)}),
    # XLA:CPU takes ~1 min to compile the 64x64 GAN step: slow (test_experiments builds it)
    pytest.param('experiments/gan/dcgan_digits.py',
                 dict(g_hidden=(8, 8, 8, 8), d_hidden=(8, 8, 8, 8), latent=4),
                 {'image': ((8, 64, 64, 3), np.float32)}, marks=pytest.mark.slow),
])
def test_full_configs_read_real_tfds_features_and_train(path, model, keys):
  """lm1b text, wmt14 sentence pairs and celeb_a photos (tfds' mock records: random text and
  218x178 images) go through the configs' own input steps into the configs' models (shrunk):
  one train step and one eval step, on one device to keep compilation short."""
  c = _tiny_full(path, **model)
  with tfds.testing.mock_data(num_examples=16):
    pipeline = data.make_pipeline(c)
    local = pipeline.train_batch(0)
    local_eval = next(pipeline.eval_batches())
  assert {k: (v.shape, v.dtype) for k, v in local.items()} == keys
  if 'image' in keys:
    assert local['image'].min() >= -1 and local['image'].max() <= 1
  else:
    first = next(iter(local.values()))
    assert first.min() >= 0 and first.max() < preprocess.BYTE_VOCAB
  mesh = sharding_lib.make_mesh(c.mesh, jax.devices()[:1])
  batch = data.global_batch(local, sharding_lib.batch_sharding(mesh))
  run = loop.build(c, mesh, batch)
  state = run.init(batch)
  state, metrics = run.compiled_train_step(state, batch)(state, batch)
  assert int(state.step) == 1 and np.isfinite(float(metrics['loss']))
  sums = jax.jit(run.objective.eval_step)(state, local_eval)
  assert float(sums['count']) == 8 and np.isfinite(float(sums['loss']))


def test_shapes_for_aot_and_sharding_reports_come_through_the_input_steps():
  c = config_lib.load('experiments/sequence/seq2seq_reverse.py:full')
  example = shapes.example(c)   # mock wmt14 records: the data set is not on this machine
  assert {k: v.shape for k, v in example.items()} == {
      'source': (1, 256), 'target': (1, 256), 'target_mask': (1, 256)}
