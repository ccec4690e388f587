"""Image grids drawn as one mosaic (train/plots.py): every image lands whole in its own tile."""

import numpy as np

from train import plots


def test_mosaic_puts_each_image_in_its_tile_with_gaps_between():
  images = np.stack([np.full((3, 2), i / 10, np.float32) for i in range(5)])   # 5 constant images
  out = plots.mosaic(images, cols=2, gap=1, top=2, fill=1.0)
  assert out.shape == (3 * (3 + 1 + 2) + 1, 2 * (2 + 1) + 1)
  for i in range(5):
    r, k = divmod(i, 2)
    y, x = r * 6 + 1 + 2, k * 3 + 1
    assert np.all(out[y:y + 3, x:x + 2] == np.float32(i / 10)), i
  tiles = sum(np.sum(out == np.float32(i / 10)) for i in range(5))
  assert tiles == 5 * 6 and np.sum(out == 1.0) == out.size - tiles   # the rest is fill
  rgb = plots.mosaic(np.zeros((3, 4, 4, 3)), cols=8)
  assert rgb.shape == (4 + 2, 8 * 5 + 1, 3)   # always `cols` columns


def test_prediction_grid_and_image_grid_write_pictures(tmp_path):
  rng = np.random.default_rng(0)
  images = rng.normal(size=(20, 8, 8, 1)) * 3 + 5         # not in [0, 1]: scaled per image
  assert plots.prediction_grid(images, [1] * 20, [1, 2] * 10, tmp_path / 'p.png')
  assert plots.image_grid(rng.random((12, 8, 8, 3)), tmp_path / 'g.png')
  assert sorted(p.name for p in tmp_path.iterdir()) == ['g.png', 'p.png']


def test_log_loss_axis_is_labelled_in_plain_numbers(tmp_path, monkeypatch):
  """The learning curves' log loss axis carries tick labels such as '0.5' and '1', not TeX."""
  drawn = []
  monkeypatch.setattr(plots, 'save', lambda fig, path, dpi=90: (fig.canvas.draw(), drawn.append(
      fig.axes[0].yaxis.get_ticklabels(which='both'))))
  rows = [{'split': 'train', 'step': s, 'loss': 1.2 - s / 1000} for s in range(100, 800, 100)]
  plots.learning_curves(rows, tmp_path / 'curves.png')
  labels = [t.get_text() for t in drawn[0] if t.get_text()]
  assert labels and '1' in labels and '0.5' in labels, labels
  assert not any('$' in t or '^' in t for t in labels), labels


def test_classifier_predictions_are_the_models_own_on_the_examples_shown(tmp_path, monkeypatch):
  """Classification.plots draws the first GRID_IMAGES examples of the batch with the model's
  eval-mode argmax on them (computed for those examples only), as over the whole batch."""
  import jax
  import jax.numpy as jnp
  from experiments.zoo import cnn_digits
  from train import config as config_lib
  from train import loop
  from train import sharding as sharding_lib
  c = cnn_digits.get_config('tiny')
  config_lib.validate(c)
  mesh = sharding_lib.make_mesh(c.mesh)
  rng = np.random.default_rng(0)
  batch = {'image': rng.random((40, 8, 8, 1), np.float32), 'label': rng.integers(0, 10, 40),
           'mask': np.ones(40, np.float32)}
  run = loop.build(c, mesh, batch)
  state = jax.jit(run.objective.init_state)(jax.random.PRNGKey(0), batch)
  drawn = []
  monkeypatch.setattr(plots, 'prediction_grid', lambda *a: drawn.append(a) or a[-1])
  run.objective.plots(state, {k: jnp.asarray(v) for k, v in batch.items()}, tmp_path)
  logits = jax.jit(lambda v: run.objective.forward(v, batch, train=False, rngs={}, mutable=False))(
      {'params': state.params, **state.model_state})
  (images, labels, predicted, path), = drawn   # one picture
  assert path.name == 'predictions.png'
  np.testing.assert_array_equal(images, batch['image'][:plots.GRID_IMAGES])
  np.testing.assert_array_equal(labels, batch['label'][:plots.GRID_IMAGES])
  np.testing.assert_array_equal(predicted, np.argmax(logits, -1)[:plots.GRID_IMAGES])
