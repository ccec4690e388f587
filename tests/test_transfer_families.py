"""Transfer across model families: a ViT's encoder under a new head, a language model's blocks in
an encoder classifier, and an autoencoder's encoder (dense and convolutional) as a classifier's
backbone. The CNN-to-CNN case (frozen convolutions, new head, shape errors) is in test_transfer.py.

Each source trains a few steps through the engine; each target starts from its checkpoint through
`config.init_from`, and where it trains with `config.optimizer.freeze`, checkpoints after each
step show what moved: frozen arrays equal the source's at every step, the new head changes.
"""

import jax
import numpy as np
import pytest

from tests.overrides import set_keys
from train import checkpoint
from train import config as config_lib
from train import data
from train import loop
from train import sharding as sharding_lib
from train import transfer
from train.errors import UserError


def config(data_dir, family, variant, objective='classification', **settings):
  c = config_lib.base_config()
  c.objective = objective
  c.model.name, c.model.variant = family, variant
  c.data.name = 'nnzoo_digits'
  c.data.data_dir = data_dir
  c.data.batch_size = 40
  c.optimizer.learning_rate = 3e-3
  c.plots = False
  c.eval_every = 0
  c.num_steps = 3
  return set_keys(c, **settings)


def train(c, workdir):
  loop.train_and_evaluate(c, workdir, progress=False)
  return str(workdir)


def params_at(workdir, step=None):
  return checkpoint.read_state(f'{workdir}/checkpoints', step)[1]['params']


def flat(params):
  return {'/'.join(str(k.key) for k in path): np.asarray(leaf)
          for path, leaf in jax.tree_util.tree_leaves_with_path(params)}


def target(data_dir, source_dir, family, variant, num_classes, **settings):
  """Fine-tunes on 3 classes (a new head), with a checkpoint after each of 2 steps."""
  return config(data_dir, family, variant, **{
      'model.num_classes': num_classes, 'data.classes': (5, 6, 7), 'data.per_class': 10,
      'data.batch_size': 24, 'num_steps': 2, 'ckpt_every': 1, 'keep_ckpts': 2,
      'init_from.workdir': source_dir, **settings})


def assert_moved(first, last, names, moved: bool):
  for name in names:
    same = np.array_equal(first[name], last[name])
    assert same != moved, f'{name} {"did not move" if moved else "moved"}'


@pytest.mark.slow  # in CI (.ci/run), not in the 10-minute default run
def test_vit_encoder_is_restored_under_a_new_head_and_stays_frozen(data_dir, tmp_path):
  src_dir = train(config(data_dir, 'transformer', 'vit_tiny', **{'model.num_classes': 10}),
                  tmp_path / 'source')
  src = flat(params_at(src_dir))
  wd = train(target(data_dir, src_dir, 'transformer', 'vit_tiny', 3, **{
      'init_from.reinit': ('^Dense_0/',),
      'optimizer.freeze': ('^(patch_embed|cls|positions|Block_0)',)}), tmp_path / 'target')
  first, last = flat(params_at(wd, 1)), flat(params_at(wd))
  encoder = [n for n in src if not n.startswith(('Dense_0', 'LayerNorm_0'))]
  assert len(encoder) > 10 and any(n.startswith('Block_0/attn/query') for n in encoder)
  for name in encoder:                              # restored, and frozen at every step
    np.testing.assert_array_equal(last[name], src[name], err_msg=name)
  assert_moved(first, last, encoder, moved=False)
  assert last['Dense_0/kernel'].shape == (32, 3) and src['Dense_0/kernel'].shape == (32, 10)
  assert_moved(first, last, ['Dense_0/kernel', 'LayerNorm_0/scale'], moved=True)


@pytest.mark.slow  # in CI (.ci/run), not in the 10-minute default run
def test_lm_blocks_restore_into_an_encoder_classifier(data_dir, tmp_path):
  """TransformerLM (setup names: embed, blocks_i, ln_final) -> TransformerEncoder (compact names:
  Embedding_0, Block_i, LayerNorm_0) by rename rules; only the new head Dense_0 starts fresh."""
  lm = config_lib.load('experiments/sequence/transformer_reverse.py:tiny')
  with lm.unlocked():
    lm.data.data_dir = data_dir
    lm.eval_every = 0
  src_dir = train(lm, tmp_path / 'lm')
  src = flat(params_at(src_dir))
  c = config(data_dir, 'transformer', 'encoder_tiny', **{
      'model.vocab_size': 12, 'model.num_layers': 2, 'model.num_classes': 3,
      'objective_args.input_key': 'tokens', 'init_from.workdir': src_dir,
      'init_from.reinit': ('^Dense_0/',), 'optimizer.freeze': ('^(Embedding_0|Block_)',),
      'init_from.rename': ((r'^Embedding_0/', 'embed/'), (r'^Block_(\d+)/', r'blocks_\1/'),
                           (r'^LayerNorm_0/', 'ln_final/'))})
  mesh = sharding_lib.make_mesh(c.mesh)
  rng = np.random.default_rng(0)
  local = {'tokens': rng.integers(0, 12, (8, 9)).astype(np.int32),
           'label': rng.integers(0, 3, (8,)).astype(np.int32), 'mask': np.ones(8, np.float32)}
  batch = data.global_batch(local, sharding_lib.batch_sharding(mesh))
  run = loop.build(c, mesh, batch)
  state, report = transfer.load_into(run.init(batch), c.init_from)
  assert sorted(report['fresh']) == ['Dense_0/bias', 'Dense_0/kernel']
  restored = flat(jax.device_get(state.params))
  assert restored['Embedding_0/tokens/embedding'].shape == (12, 16)
  renamed = {'Embedding_0/': 'embed/', 'Block_0/': 'blocks_0/', 'Block_1/': 'blocks_1/',
             'LayerNorm_0/': 'ln_final/'}
  for name, value in restored.items():
    prefix = next((p for p in renamed if name.startswith(p)), None)
    if prefix:
      np.testing.assert_array_equal(value, src[renamed[prefix] + name[len(prefix):]], err_msg=name)
  step = run.compiled_train_step(state, batch)
  for _ in range(2):
    state, _ = step(state, batch)
  after = flat(jax.device_get(state.params))
  assert_moved(restored, after, [n for n in restored if n.startswith(('Embedding_0', 'Block_'))],
               moved=False)
  assert_moved(restored, after, ['Dense_0/kernel', 'LayerNorm_0/scale'], moved=True)


def autoencoder_source(data_dir, workdir, **model):
  return train(config(data_dir, 'autoencoder', 'tiny', objective='reconstruction',
                      **{f'model.{k}': v for k, v in model.items()}), workdir)


@pytest.mark.slow  # 10-35 s: in CI (.ci/run), out of the 10-minute default run
def test_dense_autoencoder_encoder_is_an_mlp_backbone(data_dir, tmp_path):
  """MLP Dense_0, Dense_1 <- the autoencoder's encoder/Dense_0, encoder/Dense_1; the encoder's
  code layer (encoder/Dense_2) and decoder are left behind; the MLP's head starts fresh."""
  src_dir = autoencoder_source(data_dir, tmp_path / 'ae', hidden=(32, 16), code=4)
  src = flat(params_at(src_dir))
  rules = {'init_from.load': ('^Dense_[01]/',),
           'init_from.rename': ((r'^(Dense_\d+)/', r'encoder/\1/'),)}
  wd = train(target(data_dir, src_dir, 'mlp', 'tiny', 3, **{
      'model.hidden': (32, 16), **rules, 'optimizer.freeze': ('^Dense_0/',)}),
      tmp_path / 'classifier')
  first, last = flat(params_at(wd, 1)), flat(params_at(wd))
  for name in ('Dense_0/kernel', 'Dense_0/bias'):
    np.testing.assert_array_equal(last[name], src['encoder/' + name])
  assert_moved(first, last, ['Dense_0/kernel'], moved=False)
  assert_moved(first, last, ['Dense_1/kernel', 'Dense_2/kernel'], moved=True)
  assert not np.array_equal(last['Dense_1/kernel'], src['encoder/Dense_1/kernel'])  # fine-tuned
  assert last['Dense_2/kernel'].shape == (16, 3)
  # Without the rename the classifier's paths are not in the autoencoder: the error says so.
  with pytest.raises(UserError, match=r'Dense_0/(bias|kernel) \(Dense_0/(bias|kernel) in the '
                                      r'source\) is not in the checkpoint.*rename'):
    train(target(data_dir, src_dir, 'mlp', 'tiny', 3, **{
        'model.hidden': (32, 16), 'init_from.load': ('^Dense_[01]/',)}), tmp_path / 'no_rename')


def restore(c):
  """(a fresh train state of config `c` filled by its init_from rules, the load report): what the
  loop does before its first step, without compiling the steps."""
  mesh = sharding_lib.make_mesh(c.mesh)
  batch = data.global_batch(data.make_pipeline(c).train_batch(0),
                            sharding_lib.batch_sharding(mesh))
  run = loop.build(c, mesh, batch)
  state, report = transfer.load_into(run.init(batch), c.init_from)
  return state, report


@pytest.mark.slow  # in CI (.ci/run), not in the 10-minute default run
def test_conv_autoencoder_encoder_is_a_cnn_backbone(data_dir, tmp_path):
  """The convolutional encoder's Conv_0, Conv_1 (conv -> relu -> avg pool, as in the CNN) become
  the CNN's convolutions; its dense layers start fresh. (Freezing them is test_transfer.py's.)"""
  src_dir = autoencoder_source(data_dir, tmp_path / 'ae', kind='conv', hidden=(8, 16), code=4)
  src = flat(params_at(src_dir))
  state, report = restore(target(data_dir, src_dir, 'cnn', 'tiny', 3, **{
      'init_from.load': ('^Conv_',), 'init_from.rename': ((r'^(Conv_\d+)/', r'encoder/\1/'),)}))
  got = flat(jax.device_get(state.params))
  for name in ('Conv_0/kernel', 'Conv_0/bias', 'Conv_1/kernel', 'Conv_1/bias'):
    np.testing.assert_array_equal(got[name], src['encoder/' + name])
  assert sorted(report['fresh']) == ['Dense_0/bias', 'Dense_0/kernel', 'Dense_1/bias',
                                     'Dense_1/kernel']


@pytest.mark.slow  # 10-35 s: in CI (.ci/run), out of the 10-minute default run
def test_batch_norm_statistics_come_with_their_layer(data_dir, tmp_path):
  """A CNN with batch norm: the rule that loads BatchNorm_0's scale and bias (an anchored regex
  over 'BatchNorm_0/scale') loads its running mean and variance too, not fresh zeros and ones."""
  bn = {'model.batch_norm': True}
  src_dir = train(config(data_dir, 'cnn', 'tiny', **bn), tmp_path / 'source')
  src = checkpoint.read_state(f'{src_dir}/checkpoints')[1]['model_state']['batch_stats']
  c = target(data_dir, src_dir, 'cnn', 'tiny', 3, **bn, **{
      'init_from.load': ('^(Conv_0|BatchNorm_0)/',)})
  state, report = restore(c)
  stats = flat(jax.device_get(state.model_state['batch_stats']))
  for name in ('BatchNorm_0/mean', 'BatchNorm_0/var'):
    np.testing.assert_array_equal(stats[name], src['BatchNorm_0'][name.split('/')[1]])
  assert 'batch_stats/BatchNorm_0/mean' in report['loaded']
  assert 'batch_stats/BatchNorm_1/mean' in report['fresh']           # not asked for
  np.testing.assert_array_equal(stats['BatchNorm_1/var'], 1.0)
