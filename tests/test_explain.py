"""train.explain: the three attribution methods where the answer is known in closed form, the
checks it reports (rank correlation, deletion), and the command on a tiny digits run.

Linear score S(x) = w . x: its gradient is w everywhere, so saliency and SmoothGrad are w, and
integrated gradients are (x - x') * w exactly. A quadratic score S(x) = sum a x^2 has gradient 2 a p
along the path, and integrated gradients a (x^2 - x'^2): exact only if the path's points average
to its midpoint, which a left or right Riemann sum does not.
"""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from train import explain
from train import loop
from train import cli

SHAPE = (4, 4, 2)   # one example: a 4x4 image with 2 channels
CLASSES = 3


def linear(w):
  """Scores [N, CLASSES] = flattened inputs @ w [prod(SHAPE), CLASSES]."""
  return lambda x: x.reshape(len(x), -1) @ w + 0.5


def per_example(method, score_fn, xs, targets, **options):
  keys = jax.random.split(jax.random.PRNGKey(0), len(xs))
  one = lambda x, t, k: method(score_fn, x, t, k, **options)  # noqa: E731
  return np.asarray(jax.jit(jax.vmap(one))(xs, targets, keys))


@pytest.fixture
def problem():
  rng = np.random.default_rng(0)
  w = jnp.asarray(rng.normal(size=(np.prod(SHAPE), CLASSES)), jnp.float32)
  xs = jnp.asarray(rng.uniform(size=(5,) + SHAPE), jnp.float32)
  targets = jnp.asarray([0, 1, 2, 1, 0])
  baseline = jnp.asarray(rng.uniform(size=SHAPE), jnp.float32)
  return w, xs, targets, baseline


def test_integrated_gradients_of_a_linear_model_are_input_minus_baseline_times_weight(problem):
  w, xs, targets, baseline = problem
  got = per_example(explain.integrated_gradients, linear(w), xs, targets, baseline=baseline,
                    steps=8)
  want = (np.asarray(xs) - np.asarray(baseline)) * np.asarray(w.T[targets]).reshape((5,) + SHAPE)
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
  # Completeness: the attributions add up to S(x) - S(x') of the explained class.
  scores, at_baseline = np.asarray(linear(w)(xs)), np.asarray(linear(w)(baseline[None]))[0]
  c = explain.completeness(got, scores, at_baseline, np.asarray(targets))
  assert c['mean_relative_error'] < 1e-5


def test_integrated_gradients_average_the_path_at_its_midpoints():
  rng = np.random.default_rng(1)
  a = jnp.asarray(rng.uniform(0.5, 2, size=SHAPE), jnp.float32)
  quadratic = lambda x: jnp.stack([(a * x ** 2).sum((1, 2, 3))] * 2, 1)  # noqa: E731
  xs = jnp.asarray(rng.uniform(size=(3,) + SHAPE), jnp.float32)
  baseline = jnp.full(SHAPE, 0.2, jnp.float32)
  got = per_example(explain.integrated_gradients, quadratic, xs, jnp.asarray([0, 1, 0]),
                    baseline=baseline, steps=4)
  np.testing.assert_allclose(got, a * (xs ** 2 - baseline ** 2), rtol=1e-5, atol=1e-6)


def test_saliency_is_the_gradient_and_its_map_the_largest_magnitude_over_channels(problem):
  w, xs, targets, _ = problem
  got = per_example(explain.saliency, linear(w), xs, targets)
  want = np.asarray(w.T[targets]).reshape((5,) + SHAPE)
  np.testing.assert_allclose(got, want, rtol=1e-6)
  np.testing.assert_allclose(explain.pixel_map('saliency', got), np.abs(want).max(-1))
  np.testing.assert_allclose(explain.pixel_map('integrated_gradients', got), want.sum(-1))


def test_smoothgrad_averages_gradients_over_noisy_copies(problem):
  w, xs, targets, _ = problem
  # A linear score's gradient is the same at every noisy copy.
  got = per_example(explain.smoothgrad, linear(w), xs, targets, samples=4, noise=0.2)
  np.testing.assert_allclose(got, np.asarray(w.T[targets]).reshape((5,) + SHAPE), rtol=1e-5)
  # relu(x) at x = 0 has gradient 0 (JAX's choice there); over noise, P(noise > 0) = 1/2.
  relu_sum = lambda x: jnp.stack([jax.nn.relu(x).sum((1, 2, 3))] * 2, 1)  # noqa: E731
  x = jnp.zeros((1,) + SHAPE).at[0, 0, 0, 0].set(1.0)   # value range 1: sigma = noise
  smooth = per_example(explain.smoothgrad, relu_sum, x, jnp.asarray([0]), samples=256, noise=0.2)
  assert abs(smooth[0, 1:, 1:].mean() - 0.5) < 0.05


def test_spearman_ranks_ties_together_and_matches_scipy():
  rng = np.random.default_rng(2)
  a = rng.normal(size=(3, 4, 4))
  a[:, :2] = 0   # ties, as the black border of a digit gives
  b = a + rng.normal(scale=0.5, size=a.shape)
  got = explain.spearman(a, b)
  want = [stats.spearmanr(x.ravel(), y.ravel()).statistic for x, y in zip(a, b)]
  np.testing.assert_allclose(got, want, rtol=1e-10)
  np.testing.assert_allclose(explain.spearman(a, -a), -1.0)
  assert np.isnan(explain.spearman(np.zeros((1, 4)), a[:1, 0]))[0]


def test_deletion_blacks_out_the_most_attributed_pixels():
  xs = np.ones((50, 10), np.float32)
  labels = np.ones(50, np.int64)
  predict = lambda x: (x[:, 3] > 0).astype(np.int64)   # noqa: E731 - the class rests on pixel 3
  maps = np.zeros((50, 10))
  maps[:, 3] = 1.0
  d = explain.deletion(predict, xs, labels, maps, black=np.zeros(10, np.float32))
  assert d['pixels'] == 1 and d['accuracy'] == 1.0 and d['top_accuracy'] == 0.0
  assert 0.75 < d['random_accuracy'] < 1.0   # pixel 3 is the random one for about 1 in 10


def test_command_names_what_is_wrong_in_one_line(data_dir, tmp_path, capsys):
  from tests.test_engine import tiny
  from train import config as config_lib
  assert cli.run_guarded(lambda: explain.main(['--workdir', str(tmp_path)])) == 2
  assert 'has no config.json' in capsys.readouterr().err
  (tmp_path / 'config.json').write_text(config_lib.to_json(tiny(data_dir)))
  assert cli.run_guarded(lambda: explain.main(['--workdir', str(tmp_path)])) == 2
  assert 'has no checkpoint' in capsys.readouterr().err
  (tmp_path / 'checkpoints' / '2').mkdir(parents=True)
  assert cli.run_guarded(lambda: explain.main(['--workdir', str(tmp_path), '--step', '7'])) == 2
  err = capsys.readouterr().err
  assert 'no checkpoint of that step' in err and 'there are steps 2' in err
  assert len(err.strip().splitlines()) == 1


# --- The command on trained runs (slow: each compiles a model's gradients; in .ci/run) ------------

@pytest.fixture(scope='module')
def tiny_run(data_dir, tmp_path_factory):
  """A tiny CNN trained 2 steps on the digits: a workdir as `python -m train` leaves it."""
  from tests.test_engine import tiny
  workdir = tmp_path_factory.mktemp('explain_run')
  loop.train_and_evaluate(tiny(data_dir, num_steps=2, eval_every=0, ckpt_every=0), workdir,
                          progress=False)
  return workdir


@pytest.mark.slow
@pytest.mark.parametrize('method', explain.METHODS)
def test_command_writes_picture_and_numbers(tiny_run, method, capsys):
  rc = cli.run_guarded(lambda: explain.main([
      '--workdir', str(tiny_run), '--method', method, '--examples', '4', '--eval-examples', '24',
      '--steps', '32', '--samples', '8']))
  assert rc == 0, capsys.readouterr().err
  assert (tiny_run / 'explain' / f'{method}.png').stat().st_size > 1000
  result = json.loads((tiny_run / 'explain' / f'{method}.json').read_text())
  assert result['step'] == 2 and result['num_examples'] == 24 and len(result['examples']) == 4
  assert all(0 <= e['label'] < 10 and 0 <= e['predicted'] < 10 for e in result['examples'])
  assert -1 <= result['randomization']['spearman'] <= 1
  d = result['deletion']
  assert d['pixels'] == 6 and all(0 <= d[k] <= 1 for k in ('accuracy', 'top_accuracy',
                                                           'random_accuracy'))
  if method == 'integrated_gradients':
    assert result['completeness']['mean_relative_error'] < 0.05
    assert all(e['attribution_sum'] != 0 for e in result['examples'])
  else:
    assert 'completeness' not in result
  assert f'wrote {tiny_run}/explain/{method}' in capsys.readouterr().out


@pytest.mark.slow
def test_checkpoint_of_8_devices_is_explained_on_3(tiny_run):
  """Another device count than the run's: the checkpoint is read whole, the examples (20, not a
  multiple of 3) are padded per call; the numbers equal the 8-device ones."""
  import os
  import subprocess
  import sys
  ours = explain.explain(tiny_run, 'integrated_gradients', examples=2, eval_examples=20, steps=16)
  env = dict(os.environ, XLA_FLAGS='--xla_force_host_platform_device_count=3')
  proc = subprocess.run([sys.executable, '-c', (
      'import json, sys; from train import explain; '
      f'r = explain.explain({str(tiny_run)!r}, "integrated_gradients", examples=2, '
      f'eval_examples=20, steps=16); print(json.dumps(r))')], env=env, capture_output=True,
      text=True, timeout=300, cwd=os.path.dirname(os.path.dirname(__file__)))
  assert proc.returncode == 0, proc.stderr[-2000:]
  theirs = json.loads(proc.stdout.strip().splitlines()[-1])
  assert [e['predicted'] for e in theirs['examples']] == [e['predicted'] for e in ours['examples']]
  np.testing.assert_allclose(theirs['completeness']['mean_relative_error'],
                             ours['completeness']['mean_relative_error'], rtol=1e-3, atol=1e-6)
  assert theirs['deletion'] == ours['deletion']


FAMILIES = [   # (objective, model settings): every classifier family, tiny, on the 8x8 digits
    ('classification', {'model.name': 'mlp', 'model.variant': 'tiny'}),
    ('classification', {'model.name': 'cnn', 'model.variant': 'tiny'}),
    ('classification', {'model.name': 'resnet', 'model.variant': 'tiny'}),
    ('classification', {'model.name': 'rnn', 'model.variant': 'tiny', 'model.num_outputs': 10}),
    ('classification', {'model.name': 'transformer', 'model.variant': 'vit_tiny'}),
    ('capsule', {'model.name': 'capsnet', 'model.variant': 'tiny'}),
]


@pytest.mark.slow
@pytest.mark.parametrize('objective,settings', FAMILIES, ids=[f[1]['model.name'] for f in FAMILIES])
def test_every_classifier_family_is_explained(data_dir, tmp_path, objective, settings):
  from tests.test_transfer_families import config
  c = config(data_dir, settings['model.name'], settings['model.variant'], objective=objective,
             num_steps=2, **{k: v for k, v in settings.items() if k not in ('model.name',
                                                                             'model.variant')})
  loop.train_and_evaluate(c, tmp_path, progress=False)
  result = explain.explain(tmp_path, 'integrated_gradients', examples=3, eval_examples=16,
                           steps=64)
  assert (tmp_path / 'explain' / 'integrated_gradients.png').exists()
  assert result['completeness']['mean_relative_error'] < 0.05, result['completeness']
  assert np.isfinite(result['randomization']['spearman'])
