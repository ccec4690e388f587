"""Two overlapping digits: the overlay generator, the builder on digits and on (mocked) mnist, the
two-digit capsule objective, the multi-label CNN objective and the full-scale configs."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import tensorflow_datasets as tfds

import models
from train import config as config_lib
from train import data
from train import loop
from train import sharding as sharding_lib
from train.datasets import multi_digits
from train.objectives import capsule
from train.objectives import multilabel


def test_overlay_pairs_places_two_digits_of_different_classes_and_adds_them():
  # 30 one-pixel "digits": image i has value 10 + i at pixel (i % 5, i // 5); labels i % 3.
  images = np.zeros((30, 5, 6), np.uint8)
  for i in range(30):
    images[i, i % 5, i // 5] = 10 + i
  labels = np.arange(30) % 3
  parts = list(multi_digits.overlay_pairs(images, labels, 4, 2, seed=7, chunk=8))
  again = list(multi_digits.overlay_pairs(images, labels, 4, 2, seed=7, chunk=8))
  assert all(np.array_equal(p['image'], q['image']) for p, q in zip(parts, again))
  cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
  assert cat['image'].shape == (120, 9, 10) and cat['image'].dtype == np.uint8
  np.testing.assert_array_equal(cat['label'], np.repeat(labels, 4))
  assert np.all(cat['label'] != cat['label2'])
  for which, key in (('image1', 'label'), ('image2', 'label2')):
    values = cat[which].reshape(120, -1)
    assert np.all((values > 0).sum(-1) == 1)          # the digit is kept whole on the canvas
    source = values.max(-1) - 10                        # which source image it is
    np.testing.assert_array_equal(labels[source], cat[key])
    ys, xs = np.nonzero(cat[which])[1:]
    shift = np.stack([ys - source % 5, xs - source // 5], -1)
    assert shift.min() >= 0 and shift.max() <= 4      # moved by -2..2 around the centre
    assert len(np.unique(shift, axis=0)) > 10          # and the shifts vary
  np.testing.assert_array_equal(
      cat['image'], np.minimum(cat['image1'].astype(int) + cat['image2'], 255))


def test_overlay_clips_the_sum_at_255():
  images = np.full((4, 2, 2), 200, np.uint8)
  part = next(multi_digits.overlay_pairs(images, np.array([0, 1, 0, 1]), 1, 0, seed=0))
  assert part['image'].max() == 255 and part['image'].shape == (4, 2, 2)


def test_digits_builder_pairs_each_split_with_itself(data_dir):
  from train import datasets
  datasets.ensure_built('nnzoo_multi_digits', data_dir)
  test = tfds.data_source('nnzoo_multi_digits', split='test', data_dir=data_dir, download=False)
  train = tfds.data_source('nnzoo_multi_digits', split='train', data_dir=data_dir, download=False)
  assert len(test) == 4 * 360 and len(train) == 8 * 1437
  row = test[0]
  assert row['image'].shape == row['image1'].shape == (12, 12, 1) and row['label'] != row['label2']
  # Test pairs are built only from test digits: every digit in them is one of the test images.
  test_digits, _ = multi_digits.digits_source('test')
  known = {d.tobytes() for d in test_digits}
  for i in range(0, 40, 3):
    img = np.asarray(test[i]['image2'])[..., 0]
    ys, xs = np.nonzero(img)
    top, left = min(ys.min(), 4), min(xs.min(), 4)
    candidates = [img[t:t + 8, l:l + 8] for t in range(max(top - 4, 0), top + 1)
                  for l in range(max(left - 4, 0), left + 1)]
    assert any(c.tobytes() in known and c.sum() == img.sum() for c in candidates)


def test_mnist_config_reads_tfds_mnist_and_overlays_on_36x36(tmp_path):
  config = multi_digits.MultiDigitsConfig(name='mnist_small', source='mnist', size=28, shift=4,
                                          train_pairs=2, test_pairs=3)
  with tfds.testing.mock_data(num_examples=12):
    builder = multi_digits.MultiDigits(config=config, data_dir=str(tmp_path))
    rows = [r for _, r in builder._generate_examples('test')]
  assert len(rows) == 36
  assert builder.info.features['image'].shape == (36, 36, 1)
  assert all(r['label'] != r['label2'] for r in rows)


def test_margin_loss_with_two_targets_and_top_two_metrics():
  lengths = jnp.array([[0.95, 0.05, 0.92, 0.3], [0.2, 0.8, 0.1, 0.7]])
  first, second = jnp.array([0, 1]), jnp.array([2, 2])
  targets = multilabel.k_hot([first, second], 4)
  np.testing.assert_array_equal(targets, [[1, 0, 1, 0], [0, 1, 1, 0]])
  loss = capsule.margin_loss(lengths, targets)
  want0 = 0.5 * (0.2 ** 2)                                         # only class 3 is too long
  want1 = 0.1 ** 2 + 0.8 ** 2 + 0.5 * (0.1 ** 2 + 0.6 ** 2)
  np.testing.assert_allclose(loss, [want0, want1], rtol=1e-5)
  # One-hot targets give the single-label loss exactly.
  np.testing.assert_allclose(capsule.margin_loss(lengths, jax.nn.one_hot(first, 4)),
                             capsule.margin_loss(lengths, first))
  m = multilabel.top_k_metrics(lengths, [first, second])
  np.testing.assert_array_equal(m['accuracy'], [1.0, 0.0])          # example 1: top-2 is {1, 3}
  np.testing.assert_array_equal(m['digit_accuracy'], [1.0, 0.5])


def _train_tiny(spec, data_dir, workdir, steps):
  """Trains a tiny config through the loop; returns its summary and its train loss curve."""
  c = config_lib.load(spec)
  with c.unlocked():
    c.data.data_dir = data_dir
    c.num_steps = steps
    c.log_every = 5
    c.plots = True
  summary = loop.train_and_evaluate(c, workdir, progress=True)   # progress: metrics.jsonl
  rows = [json.loads(l) for l in (workdir / 'metrics.jsonl').read_text().splitlines()]
  return summary, [r['loss'] for r in rows if r['split'] == 'train']


@pytest.mark.slow  # in CI (.ci/run), not in the 10-minute default run
def test_two_digit_capsnet_loss_falls_and_draws_both_digits(data_dir, tmp_path):
  summary, losses = _train_tiny('experiments/capsnet/multi_digits.py:tiny', data_dir, tmp_path, 20)
  assert losses[-1] < 0.85 * losses[0]
  assert {'accuracy', 'digit_accuracy', 'margin_loss', 'recon_mse'} <= set(summary['eval'])
  assert (tmp_path / 'plots' / 'two_digits.png').exists()


def test_each_digit_is_reconstructed_from_its_own_capsule():
  c = config_lib.load('experiments/capsnet/multi_digits.py:tiny')
  model = models.build(c.model)
  obj = capsule.Capsule(c, model, optax.adam(1e-3))
  rng = np.random.default_rng(0)
  batch = {'image': rng.random((4, 12, 12, 1), np.float32),
           'image1': rng.random((4, 12, 12, 1), np.float32),
           'image2': rng.random((4, 12, 12, 1), np.float32),
           'label': np.array([0, 1, 2, 3]), 'label2': np.array([5, 6, 7, 8])}
  state = jax.jit(obj.init_state)(jax.random.PRNGKey(0), batch)
  variables = {'params': state.params}
  out = jax.jit(lambda v, b: obj.forward(v, b, False, {}, False))(variables, batch)
  assert out['reconstruction'].shape == (4, 2, 12, 12, 1) == out['target'].shape
  np.testing.assert_array_equal(out['target'][:, 1], batch['image2'])
  decode = jax.jit(lambda v, caps, chosen: model.apply(v, caps, chosen, (12, 12, 1),
                                                       method='decode'))
  for k, key in enumerate(('label', 'label2')):
    np.testing.assert_allclose(out['reconstruction'][:, k],
                               decode(variables, out['capsules'], batch[key]), atol=1e-5)
  loss, metrics = obj.per_example(out, batch)
  sse = np.square(out['reconstruction'] - out['target']).reshape(4, -1).sum(-1)
  np.testing.assert_allclose(loss, metrics['margin_loss'] + obj.recon_weight * sse, rtol=1e-5)


@pytest.mark.slow  # in CI (.ci/run), not in the 10-minute default run
def test_multilabel_cnn_learns_on_pairs(data_dir, tmp_path):
  summary, losses = _train_tiny('experiments/capsnet/multi_digits_cnn.py:tiny', data_dir,
                                tmp_path, 20)
  assert losses[-1] < 0.9 * losses[0]
  assert {'accuracy', 'digit_accuracy'} <= set(summary['eval'])
  assert (tmp_path / 'plots' / 'predictions.png').exists()


@pytest.mark.parametrize('spec', ['experiments/capsnet/multi_digits.py:full',
                                  'experiments/capsnet/multi_digits_cnn.py:full'])
def test_full_multimnist_configs_trace_a_step_on_36x36(spec):
  c = config_lib.load(spec)
  with c.unlocked():
    c.data.batch_size = c.data.eval_batch_size = 8
  mesh = sharding_lib.make_mesh(c.mesh)
  with tfds.testing.mock_data(num_examples=16):
    pipeline = data.make_pipeline(c)
    batch = data.global_batch(pipeline.train_batch(0), sharding_lib.batch_sharding(mesh))
  assert batch['image'].shape == (8, 36, 36, 1) and 'label2' in batch
  run = loop.build(c, mesh, batch)
  _, metrics = jax.eval_shape(run.objective.train_step, run.abstract_state, batch)
  assert metrics['accuracy'].shape == () and metrics['digit_accuracy'].shape == ()
  if 'capsnet' in c.model.name:
    n = sum(np.prod(p.shape) for p in jax.tree.leaves(run.abstract_state.params))
    assert n == 11_361_808   # the paper: 11.36M
