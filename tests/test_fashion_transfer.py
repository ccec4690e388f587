"""Yosinski et al.'s protocol on Fashion-MNIST halves (experiments/transfer/figure2.py): the claims'
config takes a step on mock data; for a given n the first n layers are copied and frozen or
fine-tuned, the rest start fresh; the claims' measures train (or read back) the arms and draw
Figure 2."""

import json

import jax
import numpy as np
import pytest
import tensorflow_datasets as tfds

from experiments import harness
from experiments.transfer import fashion_few_labels
from experiments.transfer import fashion_finetune_no_harm
from experiments.transfer import fashion_specificity
from experiments.transfer import figure2
from train import checkpoint
from train import config as config_lib
from train import loop

CLAIMS = (fashion_finetune_no_harm, fashion_specificity, fashion_few_labels)
MOCK = 64   # mock examples a split: about 32 of each half, 6 of each class
ONE_STEP = ['--config.num_steps=1', '--config.ckpt_every=1', '--config.data.batch_size=8',
            '--config.data.eval_batch_size=8']


@pytest.mark.slow  # compiles the CNN's steps on 8 devices: ~6 CPU s; in CI (.ci/run)
def test_claims_share_one_config_that_takes_a_step_on_mock_data(tmp_path):
  """The three claims' tiny config (the A source net) is the study's, and takes a step."""
  configs = {config_lib.to_json(claim.get_config('tiny')) for claim in CLAIMS}
  assert configs == {config_lib.to_json(figure2.claim_config('tiny'))}
  c = figure2.claim_config('tiny')
  with c.unlocked():
    c.num_steps, c.ckpt_every = 1, 0   # no checkpoint: saving one takes longer than the step
  assert tuple(c.data.classes) == figure2.A_CLASSES and c.model.num_classes == 5
  with tfds.testing.mock_data(num_examples=MOCK):
    summary = loop.train_and_evaluate(c, tmp_path, progress=False)
  params = summary['state'].params
  assert sorted(params) == sorted(figure2.LAYERS + ('Dense_1',))   # L layers and the head
  assert params['Dense_1']['kernel'].shape[-1] == 5 and 0 <= summary['eval']['accuracy'] <= 1


@pytest.fixture(scope='module')
def source(tmp_path_factory):
  """A tiny run on half A of mock Fashion-MNIST: its workdir and trained parameters."""
  wd = tmp_path_factory.mktemp('sourceA')
  with tfds.testing.mock_data(num_examples=MOCK):
    loop.train_and_evaluate(figure2.tiny(figure2.source_config('A')), wd, progress=False)
  return str(wd), jax.device_get(checkpoint.read_state(wd / 'checkpoints')[1]['params'])


@pytest.mark.slow  # three runs on 8 devices, ~10 s: in CI (.ci/run)
@pytest.mark.parametrize('arm', ['AnB', 'AnB+'])
def test_first_n_layers_are_copied_then_frozen_or_fine_tuned_and_the_rest_start_fresh(
    source, arm, tmp_path):
  """After 3 Adam steps at 1e-3 from the copy, a frozen layer equals the source's bit for bit, a
  fine-tuned one has moved but stays within the 3 x 3.2e-3 Adam can move a weight in 3 steps; the
  layers above n (and the head) were drawn afresh (other seed), far from the source's."""
  src_dir, src = source
  n = 2
  c = figure2.tiny(figure2.arm_config(arm, n, src_dir))
  with c.unlocked():
    c.seed = 7
  with tfds.testing.mock_data(num_examples=MOCK):
    got = jax.device_get(loop.train_and_evaluate(c, tmp_path, progress=False)['state'].params)
  for layer in figure2.LAYERS[:n]:
    for name in ('kernel', 'bias'):
      a, b = got[layer][name], src[layer][name]
      if arm == 'AnB':
        np.testing.assert_array_equal(a, b, err_msg=f'{layer}/{name} moved though frozen')
      else:
        assert 0 < np.abs(a - b).max() < 3 * 3.2e-3, f'{layer}/{name}: {np.abs(a - b).max()}'
  for layer in figure2.LAYERS[n:] + ('Dense_1',):
    assert np.abs(got[layer]['kernel'] - src[layer]['kernel']).max() > 0.1, layer


def test_copy_layers_names_the_layers_for_each_n_and_mode():
  c = figure2.arm_config('AnB', 3, '/src')
  assert tuple(c.init_from.load) == ('^Conv_0/', '^Conv_1/', '^Conv_2/')
  assert tuple(c.optimizer.freeze) == tuple(c.init_from.load) and c.init_from.workdir == '/src'
  c = figure2.arm_config('BnB+', 4, '/src')
  assert tuple(c.init_from.load) == ('^Conv_0/', '^Conv_1/', '^Conv_2/', '^Dense_0/')
  assert tuple(c.optimizer.freeze) == ()
  c = figure2.arm_config('scratch', 4, '', per_class=10)
  assert not c.init_from.workdir and not c.optimizer.freeze and c.data.per_class == 10
  assert c.data.batch_size == 50 and c.num_steps == figure2.FEW_STEPS
  with pytest.raises(ValueError, match='the net has 4'):
    figure2.arm_config('AnB', 5, '/src')


@pytest.mark.slow  # 12 runs on 8 devices, ~60 CPU s: in CI (.ci/run)
def test_claims_measure_the_arms_and_read_back_what_another_claim_trained(tmp_path, monkeypatch):
  """One step per run on mock data: the first claim trains every arm and draws figure2.png; the
  other two, at the same (stubbed clean) commit, read its runs back; their numbers are the arms'.
  Arms at n = 1, 2 only (LAYERS cut to two), which is all the machinery needs."""
  from experiments import provenance
  from train import tally
  monkeypatch.setattr(harness, 'ARMS_CACHE', str(tmp_path / 'arms'))
  monkeypatch.setattr(figure2, 'LAYERS', figure2.LAYERS[:2])
  monkeypatch.setattr(figure2, 'FEW_N', 2)
  monkeypatch.setattr(provenance, 'commit', lambda: 'aaaaaaaaaa')
  with tfds.testing.mock_data(num_examples=MOCK):
    tally.reset()
    gap, found = fashion_finetune_no_harm.measure(0, tmp_path / 'c1' / 'seed0', ONE_STEP)
    assert tally.counts()['runs_trained'] == 2 + 4 * len(figure2.LAYERS)
    assert gap == pytest.approx(min(a - found['baseB'] for a in found['AnB+']))
    assert (tmp_path / 'c1' / 'figure2.png').exists()
    saved = json.loads((tmp_path / 'c1' / 'seed0' / figure2.ARMS_FILE).read_text())
    assert saved['AnB'] == found['AnB'] and len(found['BnB+']) == len(figure2.LAYERS)
    tally.reset()
    diff, top = fashion_specificity.measure(0, tmp_path / 'c2' / 'seed0', ONE_STEP)
    assert tally.counts()['runs_trained'] == 0 and tally.counts()['runs_reused'] == 4
    assert top == {'BnB': found['BnB'][-1], 'AnB': found['AnB'][-1]}
    assert diff == top['BnB'] - top['AnB']
    tally.reset()
    few, arms = fashion_few_labels.measure(0, tmp_path / 'c3' / 'seed0', ONE_STEP)
    assert tally.counts()['runs_trained'] == 2 and tally.counts()['runs_reused'] == 1
    assert few == arms[figure2.FEW_ARM] - arms['scratch']


@pytest.mark.slow  # 10 one-step runs on 8 devices: in CI (.ci/run)
def test_few_labels_sweep_trains_every_arm_and_rate_with_its_multipliers(tmp_path, monkeypatch):
  """The calibration sweep (figure2 --few-labels-sweep): scratch, AnB and AnB+ at every n, and AnB+
  with the copied layers' learning rate scaled, each its own run (LAYERS cut to two)."""
  from experiments import provenance
  from train import tally
  monkeypatch.setattr(harness, 'ARMS_CACHE', str(tmp_path / 'arms'))
  monkeypatch.setattr(figure2, 'LAYERS', figure2.LAYERS[:2])
  monkeypatch.setattr(provenance, 'commit', lambda: 'aaaaaaaaaa')
  seen = []
  real = harness.cached_eval
  monkeypatch.setattr(harness, 'cached_eval',
                      lambda c, *a, **k: seen.append(tuple(c.optimizer.lr_multipliers)) or
                      real(c, *a, **k))
  with tfds.testing.mock_data(num_examples=MOCK):
    tally.reset()
    found = figure2.few_labels_sweep(0, tmp_path / 'seed0', ONE_STEP)
  rates = [f'AnB+ lr x{m}' for m in figure2.FEW_LR_MULTIPLIERS]
  assert sorted(found) == sorted(['scratch', 'AnB', 'AnB+', *rates])
  assert all(len(found[k]) == 2 and all(0 <= a <= 1 for a in found[k]) for k in found
             if k != 'scratch')
  assert tally.counts()['runs_trained'] == 1 + 1 + 4 * 2   # source A, scratch, 4 arms x 2 n
  assert (('^Conv_0/', 0.1), ('^Conv_1/', 0.1)) in seen and (('^Conv_0/', 0.01),) in seen
