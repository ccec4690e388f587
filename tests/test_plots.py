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
