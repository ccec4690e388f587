"""Configs: loading, overrides, and the one-line errors a mistyped key or value gives."""

import subprocess
import sys

import pytest

from train import config as config_lib
from train.errors import UserError

CNN = 'experiments/zoo/cnn_digits.py'


def test_override_changes_value_and_type_is_kept():
  c = config_lib.load(CNN)
  config_lib.apply_overrides(c, ['--config.optimizer.learning_rate=0.01', '--config.num_steps=7',
                                 '--config.data.cache=false', '--config.optimizer.name=sgd'])
  assert c.optimizer.learning_rate == 0.01 and c.num_steps == 7
  assert c.data.cache is False and c.optimizer.name == 'sgd'


def test_config_argument_selects_variant():
  assert config_lib.load(CNN + ':small').model.variant == 'tiny'
  assert config_lib.load(CNN).model.variant == 'small'


def test_unknown_key_names_nearest_valid_keys():
  c = config_lib.load(CNN)
  with pytest.raises(UserError, match=r"unknown config key 'optimiser.lr'.*optimizer"):
    config_lib.apply_overrides(c, ['--config.optimiser.lr=1'])
  with pytest.raises(UserError, match=r'optimizer.learning_rate'):
    config_lib.apply_overrides(c, ['--config.optimizer.lr=1'])


def test_wrong_type_is_an_error():
  c = config_lib.load(CNN)
  with pytest.raises(UserError, match=r"num_steps' expects an integer, got 'ten'"):
    config_lib.apply_overrides(c, ['--config.num_steps=ten'])
  with pytest.raises(UserError, match=r'expects a number'):
    config_lib.apply_overrides(c, ['--config.optimizer.learning_rate=fast'])


def test_model_fields_can_be_overridden_and_are_checked():
  c = config_lib.load(CNN)
  config_lib.apply_overrides(c, ['--config.model.batch_norm=True'])
  assert c.model.batch_norm is True
  with pytest.raises(UserError, match=r'model.*dropout'):
    config_lib.apply_overrides(c, ['--config.model.dropuot=0.1'])


def test_unknown_key_in_config_file_is_an_error():
  c = config_lib.base_config()
  c.optimiser = 1
  with pytest.raises(UserError, match=r"unknown config key 'optimiser'.*optimizer"):
    config_lib.check_keys(c, config_lib.base_config())


def _cli(*args):
  return subprocess.run([sys.executable, '-m', 'train', *args], capture_output=True, text=True,
                        timeout=120)


def test_cli_unknown_key_is_one_line_exit_2(tmp_path):
  r = _cli('--config', CNN, '--workdir', str(tmp_path), '--config.optimiser.lr=1')
  assert r.returncode == 2
  lines = [l for l in r.stderr.splitlines() if l.strip()]
  assert lines[-1].startswith('nnzoo: error: unknown config key') and 'optimizer' in lines[-1]
  assert 'Traceback' not in r.stderr


def test_cli_help_explains_flags():
  r = _cli('--help')
  assert r.returncode == 0
  for word in ('--config', '--workdir', '--config.KEY=VALUE', 'resumes'):
    assert word in r.stdout


CAPSNET = 'experiments/capsnet/capsnet_digits.py'


def test_objective_args_are_declared_checked_and_resolved():
  from train import objectives
  c = config_lib.load(CAPSNET)
  objectives.resolve_args(c)   # the config's own values kept, every other declared default added
  assert c.objective_args.recon_weight == 0.0005 * 784 / 64
  assert (c.objective_args.m_plus, c.objective_args.loss, c.objective_args.part_keys) == (
      0.9, 'margin', ('image1', 'image2'))
  c = config_lib.load(CAPSNET)
  with c.unlocked():
    c.objective_args.recon_wieght = 1.0
  with pytest.raises(UserError, match=r'unknown config key objective_args.recon_wieght for '
                                      r'objective capsule; nearest valid keys: '
                                      r'objective_args.recon_weight'):
    objectives.resolve_args(c)
  c = config_lib.load(CAPSNET)
  with c.unlocked():
    c.objective_args.m_plus = 'high'
  with pytest.raises(UserError, match=r'objective_args.m_plus=.high.: expects a number'):
    objectives.resolve_args(c)


def test_objective_args_override_any_declared_argument_and_name_the_nearest():
  c = config_lib.load(CNN)   # sets no objective_args
  config_lib.apply_overrides(c, ['--config.objective_args.aux_weight=1'])
  assert c.objective_args.aux_weight == 1.0 and isinstance(c.objective_args.aux_weight, float)
  with pytest.raises(UserError, match=r"'objective_args.aux_wieght'.*nearest valid keys: "
                                      r'objective_args.aux_weight'):
    config_lib.apply_overrides(c, ['--config.objective_args.aux_wieght=1'])


def test_derived_objective_defaults_follow_the_model_and_other_arguments():
  from train import objectives
  c = config_lib.base_config()
  c.objective, c.model.name, c.model.variant = 'som', 'som', 'tiny'
  config_lib.apply_overrides(c, ['--config.objective_args.variant=online'])
  objectives.resolve_args(c)
  model = config_lib.build_model(c.model)
  assert c.objective_args.radius_start == max(model.rows, model.cols) / 2
  assert (c.objective_args.rate_start, c.objective_args.rate_end) == (0.5, 0.01)
