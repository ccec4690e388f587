"""The generated sequence data sets: right targets, deterministic, held-out parts really held out."""

import numpy as np

from train.datasets import adding
from train.datasets import algorithmic
from train.datasets import pychars


def test_adding_targets_are_the_marked_sums():
  inputs, target = adding.generate(20, 50, seed=[20, 0])
  assert inputs.shape == (50, 20, 2) and target.shape == (50,)
  markers = inputs[..., 1]
  np.testing.assert_array_equal(markers.sum(1), 2)
  assert (markers[:, :10].sum(1) == 1).all()  # one marker in each half
  np.testing.assert_allclose((inputs[..., 0] * markers).sum(1), target, rtol=1e-6)
  again, _ = adding.generate(20, 50, seed=[20, 0])
  np.testing.assert_array_equal(inputs, again)
  other, _ = adding.generate(20, 50, seed=[20, 1])
  assert not np.array_equal(inputs, other)


def test_algorithmic_answers_and_unseen_test_strings():
  data = algorithmic.make_examples('reverse', 8, num_train=3000, num_test=300)
  tokens, mask = data['test']
  x, sep, y = tokens[:, :8], tokens[:, 8], tokens[:, 9:]
  assert (sep == algorithmic.SEP).all()
  np.testing.assert_array_equal(y, x[:, ::-1])
  assert (mask[:, 9:] == 1).all() and (mask[:, :9] == 0).all()
  seen = {row.tobytes() for row in data['train'][0][:, :8]}
  assert not any(row.tobytes() in seen for row in x)
  sort = algorithmic.make_examples('sort', 8, 100, 10)['train'][0]
  np.testing.assert_array_equal(sort[:, 9:], np.sort(sort[:, :8], 1))


def test_pychars_splits_by_file():
  import glob
  import os
  import sysconfig
  files = glob.glob(os.path.join(sysconfig.get_paths()['stdlib'], '*.py'))
  splits = {pychars.split_of(f) for f in files}
  assert splits == {'train', 'validation', 'test'}
  w = pychars.windows(b'abc' * 100)
  assert w.shape == (300 // pychars.WINDOW, pychars.WINDOW) and w.dtype == np.int32
