"""Transfer learning: init_from loads what the rules say, freezing and probing keep what they
should, and mistakes name the parameter and the shapes."""

import jax
import numpy as np
import pytest

from train import checkpoint
from tests import overrides as overrides_lib
from train import config as config_lib
from train import data
from train import loop
from train.errors import UserError


def tiny(data_dir, **overrides):
  c = config_lib.load('experiments/zoo/cnn_digits.py:tiny')
  with c.unlocked():
    c.data.data_dir = data_dir
    c.plots = False
    c.eval_every = 0
    c.optimizer.schedule = 'constant'
  return overrides_lib.set_keys(c, **overrides)


@pytest.fixture(scope='module')
def source(tmp_path_factory, data_dir):
  """A tiny CNN trained on digits 0-4 (5 classes)."""
  wd = tmp_path_factory.mktemp('source')
  loop.train_and_evaluate(tiny(data_dir, num_steps=20, **{'data.classes': (0, 1, 2, 3, 4),
                                                          'model.num_classes': 5}), wd,
                          progress=False)
  return str(wd), checkpoint.read_state(wd / 'checkpoints')[1]['params']


def target(data_dir, source_dir, **kw):
  settings = {'num_steps': 3, 'data.classes': (5, 6, 7, 8, 9), 'model.num_classes': 5,
              'data.per_class': 10, 'data.batch_size': 40, 'init_from.workdir': source_dir}
  return tiny(data_dir, **{**settings, **kw})


@pytest.mark.slow  # in CI (.ci/run): keeps the default run under 10 minutes
def test_frozen_layers_keep_the_source_weights_and_the_new_head_trains(source, data_dir, tmp_path):
  src_dir, src = source
  s = loop.train_and_evaluate(target(data_dir, src_dir, **{
      'init_from.reinit': ('^Dense_1/',), 'optimizer.freeze': ('^Conv_',)}), tmp_path,
      progress=False)
  got = jax.device_get(s['state'].params)
  for layer in ('Conv_0', 'Conv_1'):
    np.testing.assert_array_equal(got[layer]['kernel'], src[layer]['kernel'])
  assert not np.array_equal(got['Dense_0']['kernel'], src['Dense_0']['kernel'])  # fine-tuned
  assert got['Dense_1']['kernel'].shape == src['Dense_1']['kernel'].shape
  # The head was drawn afresh, not loaded: after 3 Adam steps at lr 0.01 a loaded head would be
  # within 3 x 3.2 x 0.01 = 0.1 of the source's (Adam moves a weight at most about
  # lr (1 - b1) / sqrt(1 - b2) = 3.2 lr a step); two independent draws differ by far more.
  assert np.abs(got['Dense_1']['kernel'] - src['Dense_1']['kernel']).max() > 0.1


@pytest.mark.slow  # in CI (.ci/run): keeps the default run under 10 minutes
def test_linear_probe_trains_only_the_head(source, data_dir, tmp_path):
  src_dir, src = source
  s = loop.train_and_evaluate(target(data_dir, src_dir, **{
      'init_from.reinit': ('^Dense_1/',), 'optimizer.train_only': ('^Dense_1/',)}), tmp_path,
      progress=False)
  got = jax.device_get(s['state'].params)
  for layer in ('Conv_0', 'Conv_1', 'Dense_0'):
    np.testing.assert_array_equal(got[layer]['kernel'], src[layer]['kernel'])
  fresh = jax.device_get(loop.train_and_evaluate(
      target(data_dir, '', **{'optimizer.train_only': ('^Dense_1/',), 'num_steps': 1}),
      tmp_path / 'scratch', progress=False)['state'].params)
  assert not np.array_equal(fresh['Conv_0']['kernel'], src['Conv_0']['kernel'])  # init differs


@pytest.mark.slow  # in CI (.ci/run): keeps the default run under 10 minutes
def test_lr_multiplier_zero_is_a_freeze(source, data_dir, tmp_path):
  src_dir, src = source
  s = loop.train_and_evaluate(target(data_dir, src_dir, **{
      'optimizer.lr_multipliers': (('^Conv_0/', 0.0),)}), tmp_path, progress=False)
  got = jax.device_get(s['state'].params)
  np.testing.assert_array_equal(got['Conv_0']['kernel'], src['Conv_0']['kernel'])
  assert not np.array_equal(got['Conv_1']['kernel'], src['Conv_1']['kernel'])


@pytest.mark.slow  # in CI (.ci/run): keeps the default run under 10 minutes
def test_shape_mismatch_names_parameter_and_shapes(source, data_dir, tmp_path):
  src_dir, _ = source
  c = target(data_dir, src_dir, **{'model.num_classes': 3, 'data.classes': (5, 6, 7)})
  with pytest.raises(UserError, match=r'shape mismatch for Dense_1/(bias|kernel): this model '
                                      r'has \(.*3,?\), the checkpoint .* has \(.*5,?\)'):
    loop.train_and_evaluate(c, tmp_path, progress=False)


def test_class_subset_is_relabelled_with_few_labels(data_dir):
  c = tiny(data_dir, **{'data.classes': (7, 3), 'data.per_class': 4, 'data.batch_size': 8})
  p = data.make_pipeline(c)
  assert len(p.train_source) == 8
  labels = p.train_source.read(np.arange(8))['label']
  assert sorted(labels.tolist()) == [0] * 4 + [1] * 4
  full = data.make_pipeline(tiny(data_dir))
  assert len(p.eval_source) == sum(int(full.eval_source.arrays['label'][i] in (3, 7))
                                   for i in range(len(full.eval_source)))


def test_class_subset_tolerates_a_class_missing_from_the_split():
  """A small (or mock) split may lack a requested class: it gets its label and no examples."""
  rows = [{'label': np.int64(y), 'image': np.zeros(2)} for y in (0, 5, 6, 5)]
  sub = data.Subset(rows, 'label', classes=(5, 9), per_class=0)
  assert len(sub) == 2 and [sub[i]['label'] for i in range(2)] == [0, 0]


def test_few_label_batches_are_safe_to_prepare_on_several_threads():
  """With 5 examples and a batch of 40 every step spans 8 epochs; the loop prepares batches on
  prefetch threads, which must not evict each other's epoch orders (a KeyError once did)."""
  import concurrent.futures
  import sys
  n = 5

  def pipeline():
    return data.Pipeline(train_source=list(range(n)), eval_source=None, global_batch=40,
                         global_eval_batch=40, shuffle_seed=0, process_index=0, process_count=1)

  interval = sys.getswitchinterval()
  sys.setswitchinterval(1e-6)     # switch threads as often as possible: make a race show
  try:
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
      got = list(pool.map(pipeline().train_indices, range(2000)))
  finally:
    sys.setswitchinterval(interval)
  serial = pipeline()
  for step in (0, 1, 999, 1999):
    np.testing.assert_array_equal(got[step], serial.train_indices(step))
  assert all(sorted(np.bincount(g, minlength=n)) == [8] * n for g in got)
