"""DARTS: the val stream, the bilevel step's data separation, supernets, the derivation rule."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import models
from models import darts
from models import nas_mlp
from tests import overrides as overrides_lib
from train import config as config_lib
from train import data
from train import loop
from train import metrics as metrics_lib
from train import objectives
from train import optimizer as optimizer_lib

MLP = 'experiments/nas/darts_mlp_digits.py'


def _config(data_dir, spec=MLP + ':tiny', **overrides):
  c = config_lib.load(spec)
  with c.unlocked():
    c.data.data_dir = data_dir
    c.plots = False
  return overrides_lib.set_keys(c, **overrides)


def test_val_stream_comes_from_its_own_split_by_step(data_dir):
  c = _config(data_dir)
  p, q = data.make_pipeline(c), data.make_pipeline(c)
  assert (p.num_train, len(p.val_source)) == (718, 719)   # train[:50%], train[50%:] of 1437
  b = p.train_batch(5)
  assert set(b) == {'image', 'label', 'val_image', 'val_label'}
  assert b['val_image'].shape == b['image'].shape and b['val_image'].dtype == np.float32
  np.testing.assert_array_equal(b['val_image'], q.train_batch(5)['val_image'])  # pure in step
  assert not np.array_equal(b['val_image'], b['image'])
  # the val batch holds examples of the val split only
  val = p.val_source.read(p.train_indices(5, stream=1))['image'].astype(np.float32) / 255
  np.testing.assert_array_equal(b['val_image'], val)
  with c.unlocked():
    c.data.val_split = ''
  assert set(data.make_pipeline(c).train_batch(0)) == {'image', 'label'}


def _objective_and_state(data_dir, **overrides):
  c = _config(data_dir, **overrides)
  model = models.build(c.model)
  tx, _ = optimizer_lib.make_optimizer(c.optimizer, c.num_steps)
  objective = objectives.build(c, model, tx)
  batch = {k: jnp.asarray(v) for k, v in data.make_pipeline(c).train_batch(0).items()}
  state = jax.jit(objective.init_state)(jax.random.PRNGKey(0), batch)
  return objective, state, batch


def _leaves_equal(a, b):
  return all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


@pytest.mark.slow  # in CI (.ci/run): keeps the default run under 10 minutes
def test_alpha_learns_from_val_data_only_and_weights_from_train_data_only(data_dir):
  objective, state, batch = _objective_and_state(data_dir, **{'model.layers': 1})
  assert set(state.params) == {'w', 'alpha'} and set(state.opt_state) == {'w', 'alpha'}
  assert list(state.params['alpha']) == ['alpha'] and 'alpha' not in state.params['w']
  noise = jax.random.uniform(jax.random.PRNGKey(1), batch['image'].shape)
  step = jax.jit(objective.train_step)
  base, _ = step(state, batch)
  other_train, _ = step(state, dict(batch, image=noise))
  other_val, _ = step(state, dict(batch, val_image=noise))
  # alpha's update does not depend on the train half of the batch, and does on the val half
  assert _leaves_equal(base.params['alpha'], other_train.params['alpha'])
  assert not _leaves_equal(base.params['alpha'], other_val.params['alpha'])
  assert not _leaves_equal(base.params['w'], other_train.params['w'])
  # with alpha frozen (lr 0) the weights' update does not depend on the val half at all
  objective0, state0, _ = _objective_and_state(
      data_dir, **{'model.layers': 1, 'objective_args.alpha_lr': 0.0})
  step0 = jax.jit(objective0.train_step)
  w_base = step0(state0, batch)[0].params['w']
  w_other_val = step0(state0, dict(batch, val_image=noise))[0].params['w']
  assert _leaves_equal(w_base, w_other_val)


def test_darts_needs_the_val_stream(data_dir):
  from train.errors import UserError
  c = _config(data_dir, **{'data.val_split': ''})
  with pytest.raises(UserError, match='val_split'):
    loop.train_and_evaluate(c, '/tmp/nnzoo_darts_no_val', overwrite=True, progress=False)


@pytest.mark.slow  # in CI (.ci/run), not in the 10-minute default run
def test_search_through_the_engine_lowers_val_loss_and_moves_alpha(data_dir, tmp_path):
  c = _config(data_dir, num_steps=150, log_every=10, plots=True, **{'model.layers': 2})
  s = loop.train_and_evaluate(c, tmp_path, progress=False)
  rows = [r for r in metrics_lib.read(tmp_path) if r['split'] == 'train']
  assert rows[-1]['val_loss'] < 0.5 * rows[0]['val_loss']
  assert rows[-1]['loss'] < 0.5 * rows[0]['loss']
  assert s['eval']['alpha_max_dev'] > 0.03 > rows[0]['alpha_max_dev']
  assert s['eval']['accuracy'] > 0.6
  arch = darts.derive(models.build(c.model), jax.device_get(s['state'].params['alpha']))
  assert len(arch) == 2 and all(0 <= op < len(nas_mlp.OPS) for op in arch)
  assert (tmp_path / 'plots' / 'alpha.png').exists()
  assert (tmp_path / 'plots' / 'architecture.json').exists()


@pytest.mark.slow  # in CI (.ci/run): keeps the default run under 10 minutes
def test_mlp_supernet_with_one_hot_alpha_is_the_discrete_network():
  arch = (7, 0, 2)   # relu-64 > absent > tanh-16
  x = jax.random.uniform(jax.random.PRNGKey(0), (4, 8, 8, 1))
  discrete = nas_mlp.SpaceMLP(arch=arch)
  dp = jax.jit(discrete.init)(jax.random.PRNGKey(1), x)['params']
  sp = jax.tree.map(np.array, jax.jit(darts.SuperMLP().init)(jax.random.PRNGKey(2), x)['params'])
  sp['alpha'] = np.full_like(sp['alpha'], -1e4)
  sp['alpha'][np.arange(3), list(arch)] = 0.0
  sp['layer0_relu-64'] = dp['Dense_0']
  sp['layer2_tanh-16'] = dp['Dense_1']
  sp['head']['kernel'][:] = 0
  sp['head']['kernel'][:16] = dp['Dense_2']['kernel']
  sp['head']['bias'] = dp['Dense_2']['bias']
  np.testing.assert_allclose(jax.jit(darts.SuperMLP().apply)({'params': sp}, x),
                             jax.jit(discrete.apply)({'params': dp}, x), rtol=1e-5, atol=1e-5)
  assert darts.derive(darts.SuperMLP(), {'alpha': sp['alpha']}) == arch


def test_cell_rule_keeps_two_strongest_non_none_edges_per_node():
  ops = darts.CELL_OPS   # none, skip, conv1, conv3, max, avg
  alpha = np.zeros((darts.num_edges(2), len(ops)))
  alpha[0, 0] = 9.0      # node 2 <- 0: 'none' dominates, but none never counts
  alpha[0, 3] = 1.0      #   its best real op: conv_3x3 (weak)
  alpha[1, 1] = 5.0      # node 2 <- 1: skip_connect, strong
  # node 3 has inputs 0, 1, 2 (rows 2, 3, 4): keep rows 2 and 4
  alpha[2, 2] = 4.0
  alpha[3, 4] = 0.5
  alpha[4, 5] = 3.0
  cell = darts.derive_cell(alpha, ops, 2)
  assert cell == (('conv_3x3', 0), ('skip_connect', 1), ('conv_1x1', 0), ('avg_pool_3x3', 2))
  model = darts.SearchNetwork(channels=4, layers=3, steps=2)
  g = darts.derive(model, {'alpha_normal': alpha, 'alpha_reduce': alpha})
  assert darts.parameter_free_share(model, g) == 0.5


def test_cell_search_network_and_genotype_network_shapes():
  x = jnp.ones((2, 8, 8, 1))
  search = darts.SearchNetwork(channels=4, layers=3, steps=2, stem_multiplier=1)
  variables = jax.eval_shape(search.init, jax.random.PRNGKey(0), x)   # shapes only: fast
  assert variables['params']['alpha_normal'].shape == (5, 6)
  assert 'batch_stats' in variables
  shapes = jax.eval_shape(lambda v: search.apply(v, x, train=True, mutable=['batch_stats']),
                          variables)
  assert shapes[0].shape == (2, 10)
  alpha = np.random.default_rng(0).normal(size=(5, 6))
  g = darts.derive(search, {'alpha_normal': alpha, 'alpha_reduce': -alpha})
  assert len(g[0]) == len(g[2]) == 4 and g[1] == g[3] == (2, 3)
  net = darts.GenotypeNetwork(genotype=g, channels=4, layers=3, auxiliary=True, drop_path=0.2,
                              augment_pad=1, cutout=2)
  v = jax.eval_shape(net.init, jax.random.PRNGKey(1), x)
  rngs = {'dropout': jax.random.PRNGKey(2)}
  (out, aux), _ = jax.eval_shape(
      lambda v: net.apply(v, x, train=True, rngs=rngs, mutable=['batch_stats']), v)
  assert out.shape == aux.shape == (2, 10)
  assert jax.eval_shape(lambda v: net.apply(v, x, train=False), v).shape == (2, 10)


@pytest.mark.slow  # compiles two cells; in CI (.ci/run)
def test_search_cell_mixes_its_ops_by_softmax_alpha():
  """A search cell's edge is sum_k softmax(alpha)_k op_k(x): with alpha one-hot (a large logit) on
  max pooling in one cell and on average pooling in another, the mixture of the two cells'
  outputs with equal weights is the cell at equal alpha on those two ops (all ops are linear in
  the weights, the parameter-free pools included)."""
  ops = ('max_pool_3x3', 'avg_pool_3x3')
  x = jax.random.normal(jax.random.PRNGKey(0), (2, 6, 6, 4))
  cell = darts.SearchCell(ops, features=4, steps=1, reduction=False, reduction_prev=False)
  v = cell.init(jax.random.PRNGKey(1), x, x, jnp.full((2, 2), 0.5), False)
  apply = jax.jit(lambda w: cell.apply(v, x, x, w, False))
  one_hot = [jnp.tile(jnp.eye(2)[k], (2, 1)) for k in range(2)]
  half = apply(jnp.full((2, 2), 0.5))
  np.testing.assert_allclose(half, 0.5 * (apply(one_hot[0]) + apply(one_hot[1])),
                             rtol=1e-5, atol=1e-6)
  assert float(jnp.abs(apply(one_hot[0]) - apply(one_hot[1])).max()) > 0.1   # the ops differ


def test_genotype_cell_output_follows_the_chosen_operations():
  """Identity preprocessing (1x1 kernels = I, BN at mean 0, var 1): the cell's one node is
  op_a(relu(s0)) + op_b(relu(s1)), checked against numpy's max/avg pooling over a 3x3 window."""
  x0 = np.asarray(jax.random.normal(jax.random.PRNGKey(0), (1, 5, 5, 2)))
  x1 = np.asarray(jax.random.normal(jax.random.PRNGKey(1), (1, 5, 5, 2)))
  scale = 1 / np.sqrt(1 + 1e-5)   # flax BatchNorm's epsilon in eval mode

  def cell_output(genotype_ops):
    cell = darts.GenotypeCell(genotype_ops, concat=(2,), features=2, reduction=False,
                              reduction_prev=False)
    v = jax.tree.map(np.array, cell.init(jax.random.PRNGKey(2), x0, x1, False))
    for conv in v['params'].values():
      conv['Conv_0']['kernel'] = np.eye(2)[None, None]
    return np.asarray(cell.apply(v, x0, x1, False))

  def pool(a, fn):   # 3x3 window, stride 1, padding excluded
    padded = np.pad(a, ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=np.nan)
    windows = np.stack([padded[:, i:i + 5, j:j + 5] for i in range(3) for j in range(3)])
    return fn(windows, axis=0)

  r0, r1 = np.maximum(x0, 0) * scale, np.maximum(x1, 0) * scale
  cases = {(('skip_connect', 0), ('max_pool_3x3', 1)): r0 + pool(r1, np.nanmax),
           (('skip_connect', 0), ('avg_pool_3x3', 1)): r0 + pool(r1, np.nanmean),
           (('max_pool_3x3', 0), ('skip_connect', 1)): pool(r0, np.nanmax) + r1}
  for genotype_ops, expected in cases.items():
    np.testing.assert_allclose(cell_output(genotype_ops), expected, rtol=1e-5, atol=1e-6,
                               err_msg=str(genotype_ops))


def test_cutout_zeroes_a_square_of_the_given_side():
  x = jnp.ones((16, 32, 32, 3))
  y = darts.augment(x, jax.random.PRNGKey(0), pad=0, cutout=16)
  zeroed = (y[..., 0] == 0).sum((1, 2))
  assert int(zeroed.max()) == 256 and int(zeroed.min()) >= 64   # clipped at the border


def test_full_scale_configs_state_the_papers_schedule_and_build_on_mock_cifar10():
  import tensorflow_datasets as tfds
  from train import sharding as sharding_lib
  search = config_lib.load('experiments/nas/darts_cifar10.py:full')
  evaluation = config_lib.load('experiments/nas/darts_cifar10.py:full_eval')
  assert search.num_steps == 391 * 50 and search.data.batch_size == 64
  assert evaluation.num_steps == 521 * 600 and evaluation.data.batch_size == 96
  model = models.build(evaluation.model)
  assert (model.layers, model.channels, model.cutout, model.drop_path) == (20, 36, 16, 0.2)
  assert evaluation.objective_args.aux_weight == 0.4
  c = config_lib.load('experiments/nas/darts_cifar10.py:full_eval')
  with c.unlocked():
    c.data.batch_size = c.data.eval_batch_size = 8
  mesh = sharding_lib.make_mesh(c.mesh)
  with tfds.testing.mock_data(num_examples=16):
    batch = data.global_batch(data.make_pipeline(c).train_batch(0),
                              sharding_lib.batch_sharding(mesh))
  assert set(batch) == {'image', 'label'}        # cifar10's text 'id' is dropped
  params = loop.build(c, mesh, batch).abstract_state.params
  count = sum(np.prod(x.shape) for k, v in params.items() if not k.startswith('Auxiliary')
              for x in jax.tree.leaves(v))
  assert 3.2e6 < count < 3.45e6   # the paper's Table 1: 3.3M parameters (without the aux head)
