"""Each family's own pictures (train/objectives/<objective>_pictures.py) draw a whole PNG from
arrays shaped as their objective passes them; the loop would only warn if one raised."""

import numpy as np


def test_family_pictures_draw(tmp_path):
  from train.objectives import gan_pictures, rbf_pictures, reconstruction_pictures, som_pictures
  rng = np.random.default_rng(0)
  images, mask, labels = rng.uniform(size=(6, 8, 8, 1)), np.ones(6), np.arange(6) % 3
  drawn = [
      reconstruction_pictures.reconstruction_grid(images, images * 0.5, images, tmp_path / 'r.png'),
      reconstruction_pictures.code_scatter(rng.normal(size=(6, 5)), labels, mask,
                                           tmp_path / 'c.png'),
      reconstruction_pictures.sample_grid(images, tmp_path / 's.png'),
      reconstruction_pictures.latent_walk(rng.uniform(size=(9, 8, 8, 1)), 3, (0, 1),
                                          tmp_path / 'w.png'),
      gan_pictures.sample_grid(images * 2 - 1, tmp_path / 'g.png'),
      gan_pictures.samples_over_density(rng.normal(size=(20, 2)), rng.normal(size=(20, 2)),
                                        np.zeros((2, 2)), tmp_path / 'd.png'),
      *som_pictures.maps(rng.normal(size=(6, 3)), (2, 3), np.arange(6), labels, mask,
                         tmp_path / 'u.png', tmp_path / 'p.png', tmp_path / 'h.png'),
      rbf_pictures.prediction_vs_truth(rng.normal(size=(10, 2)), rng.normal(size=(10, 2)),
                                       ['a', 'b'], tmp_path / 'v.png'),
  ]
  assert len(drawn) == 10
  for path in drawn:
    assert path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n', path
  assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in drawn)
