"""Train-time augmentation (train/augment.py) and per-channel normalization in the pipeline: what
each step does, that its draws are a function of (seed, step, place in the batch) only, that only
train batches are augmented, and that a run with augmentation resumes bit for bit."""

import logging
import shutil

import numpy as np
import pytest

from tests.test_engine import params_equal, tiny, train_losses
from train import augment
from train import config as config_lib
from train import data
from train import loop
from train.errors import UserError


def _images(b=16, h=9, w=9, c=1, seed=0):
  """Images with no zero pixel, so zeros in an output can only be padding or fill."""
  return np.random.default_rng(seed).uniform(0.1, 1.0, (b, h, w, c)).astype(np.float32)


def _apply(spec, x, seed=0, step=0, positions=None):
  positions = np.arange(len(x)) if positions is None else positions
  return augment.compose([spec], seed)({'image': x}, step, positions)['image']


def test_flips_mirror_each_example_with_probability_p():
  x = _images(64)
  np.testing.assert_array_equal(_apply('flip_left_right(p=1)', x), x[:, :, ::-1])
  np.testing.assert_array_equal(_apply('flip_up_down(p=1.0)', x), x[:, ::-1])
  np.testing.assert_array_equal(_apply('flip_left_right(p=0)', x), x)
  out = _apply('flip_left_right()', x)
  flipped = [np.array_equal(o, i[:, ::-1]) for o, i in zip(out, x)]
  assert all(f or np.array_equal(o, i) for f, o, i in zip(flipped, out, x))
  assert 16 < sum(flipped) < 48


def test_random_crop_shifts_each_example_by_at_most_pad_with_zeros():
  x = _images(32)
  np.testing.assert_array_equal(_apply('random_crop(pad=0)', x), x)
  out = _apply('random_crop(pad=2)', x)
  padded = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)))
  shifts = []
  for o, p in zip(out, padded):
    match = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
             if np.array_equal(o, p[2 + dy:2 + dy + 9, 2 + dx:2 + dx + 9])]
    assert len(match) == 1
    shifts += match
  assert len(set(shifts)) > 8        # the offsets differ between examples


def test_rotate_is_bilinear_about_the_centre():
  x = _images(8, 7, 7, 3)
  np.testing.assert_array_equal(_apply('rotate(degrees=0)', x), x)
  np.testing.assert_allclose(augment.rotate_images(x, np.full(8, 90.0)), np.rot90(x, 1, (1, 2)),
                             atol=1e-6)
  np.testing.assert_allclose(augment.rotate_images(x, np.full(8, -90.0)), np.rot90(x, -1, (1, 2)),
                             atol=1e-6)
  wide = _images(2, 5, 8)
  np.testing.assert_allclose(augment.rotate_images(wide, [180.0, -180.0]), wide[:, ::-1, ::-1],
                             atol=1e-6)
  # 45 degrees: the centre stays, the corners come from outside the image (0), values interpolate
  out = augment.rotate_images(x, np.full(8, 45.0))
  np.testing.assert_array_equal(out[:, 3, 3], x[:, 3, 3])
  assert np.all(out[:, 0, 0] == 0) and np.all(out[:, 3, 0] > 0)
  assert out.min() >= 0 and out.max() <= x.max()
  # a random angle in [-30, 30]: the centre stays, the image changes
  out = _apply('rotate(degrees=30)', x)
  np.testing.assert_array_equal(out[:, 3, 3], x[:, 3, 3])
  assert not np.allclose(out, x)


def test_draws_are_a_function_of_seed_step_and_place_in_the_batch():
  x = _images(16)
  spec = ['random_crop(pad=2)', 'flip_left_right()', 'rotate(degrees=15)']
  f = augment.compose(spec, 3)
  out = f({'image': x}, 7, np.arange(16))['image']
  again = augment.compose(spec, 3)({'image': x}, 7, np.arange(16))['image']
  np.testing.assert_array_equal(out, again)
  part = f({'image': x[1::2]}, 7, np.arange(16)[1::2])['image']       # another process's share
  np.testing.assert_array_equal(part, out[1::2])
  assert not np.array_equal(out, f({'image': x}, 8, np.arange(16))['image'])
  assert not np.array_equal(out, augment.compose(spec, 4)({'image': x}, 7, np.arange(16))['image'])
  u = augment.uniform(0, 0, np.arange(4096), 0, 2)
  assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.02


def _config(data_dir, **data_kw):
  c = config_lib.base_config()
  c.data.data_dir = data_dir
  for k, v in data_kw.items():
    c.data[k] = v
  config_lib.validate(c)
  return c


def test_two_processes_augment_the_batch_as_one(data_dir):
  c = _config(data_dir, augment=('random_crop(pad=1)', 'flip_left_right()', 'rotate(degrees=20)'))
  single = data.make_pipeline(c)
  parts = [data.Pipeline(single.train_source, single.eval_source, 128, 128, single.shuffle_seed,
                         pi, 2, augment=single.augment).train_batch(3) for pi in range(2)]
  full = single.train_batch(3)
  for pi in range(2):   # process i holds rows 64 i .. 64 i + 63 of the global batch
    np.testing.assert_array_equal(parts[pi]['image'], full['image'][64 * pi:64 * (pi + 1)])
    np.testing.assert_array_equal(parts[pi]['label'], full['label'][64 * pi:64 * (pi + 1)])


def test_only_train_batches_are_augmented_and_all_are_normalized(data_dir):
  split = dict(train_split='train[:50%]', val_split='train[50%:]')
  plain = data.make_pipeline(_config(data_dir, **split))
  aug = data.make_pipeline(_config(data_dir, **split, augment=('flip_up_down(p=1)',)))
  norm = data.make_pipeline(_config(data_dir, **split, augment=('flip_up_down(p=1)',),
                                    mean=(0.25,), std=(0.5,)))
  b, a, n = plain.train_batch(2), aug.train_batch(2), norm.train_batch(2)
  np.testing.assert_array_equal(a['image'], b['image'][:, ::-1])
  np.testing.assert_array_equal(a['val_image'], b['val_image'])       # the val stream is not
  np.testing.assert_allclose(n['image'], (a['image'] - 0.25) / 0.5, rtol=1e-6)
  np.testing.assert_allclose(n['val_image'], (b['val_image'] - 0.25) / 0.5, rtol=1e-6)
  for e, ea, en in zip(plain.eval_batches(), aug.eval_batches(), norm.eval_batches()):
    np.testing.assert_array_equal(ea['image'], e['image'])
    np.testing.assert_allclose(en['image'], (e['image'] - 0.25) / 0.5, rtol=1e-6)
    np.testing.assert_array_equal(en['mask'], e['mask'])
  three = data.make_pipeline(_config(data_dir, mean=(0.1, 0.2, 0.3), std=(1, 1, 1)))
  with pytest.raises(UserError, match='3 values.*1 channels'):
    three.train_batch(0)


@pytest.mark.parametrize('augment_steps, mean, std, match', [
    (('flip_left_rigth()',), (), (), "unknown augment step 'flip_left_rigth'.*known: "
     'flip_left_right, flip_up_down, random_crop, rotate'),
    (('random_crop(pda=2)',), (), (), 'pda.*its arguments: pad, key'),
    (('random_crop(pad=-1)',), (), (), 'pad must be an integer >= 0'),
    (('flip_up_down(p=2)',), (), (), 'p must be a probability'),
    ((), (0.5,), (), 'one number per channel'),
    ((), (0.5,), (0.0,), 'must be positive'),
])
def test_bad_augment_or_normalization_is_a_config_error(augment_steps, mean, std, match):
  c = config_lib.base_config()
  c.data.augment, c.data.mean, c.data.std = augment_steps, mean, std
  with pytest.raises(UserError, match=match):
    config_lib.validate(c)


# 18 s: in CI's slow step (.ci/run), with the default suite near its 10-minute budget
@pytest.mark.slow
def test_run_with_augmentation_resumes_bit_for_bit(data_dir, tmp_path, caplog):
  """4 steps uninterrupted, then the same run resumed from its step-2 checkpoint (a copy of the
  workdir without the later one: two compiles, not three): batches 2 and 3 are augmented again,
  and must be the same."""
  c = tiny(data_dir, num_steps=4, ckpt_every=2, eval_every=0,
           **{'data.augment': ('random_crop(pad=1)', 'flip_left_right()')})
  full = loop.train_and_evaluate(c, tmp_path / 'full', progress=False)
  shutil.copytree(tmp_path / 'full', tmp_path / 'cut')
  shutil.rmtree(tmp_path / 'cut' / 'checkpoints' / '4')
  with caplog.at_level(logging.INFO, logger='nnzoo'):
    resumed = loop.train_and_evaluate(c, tmp_path / 'cut', progress=False)
  assert any('resumed from step 2' in r.getMessage() for r in caplog.records)
  assert train_losses(tmp_path / 'full') == train_losses(tmp_path / 'cut')   # exact floats
  assert params_equal(full['state'].params, resumed['state'].params)
  assert params_equal(full['state'].opt_state, resumed['state'].opt_state)
