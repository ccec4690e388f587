"""The Fashion NAS study's CNN space (models/nas_cnn.py): indexing both ways under the 2-conv net's
parameter count, closed-form counts equal to Flax's, the population network computing what each
discrete network computes (outputs and gradients), the pool strategies' mutation and budget, and
one step of each new config on mock data."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from experiments.nas import fashion_search
from experiments.nas import fashion_space
from experiments.nas import strategies
from experiments.nas import table as table_lib
from models import nas_cnn
from tests import mock_step

M, A, N = 'max', 'avg', 'none'


def flax_params(module, shape=(1, 28, 28, 1)) -> int:
  shapes = jax.eval_shape(lambda: module.init(jax.random.key(0), jnp.zeros(shape)))
  return sum(int(np.prod(a.shape)) for a in jax.tree.leaves(shapes['params']))


def test_bound_is_the_two_conv_nets_count_and_it_is_a_member_at_the_bound():
  import models
  from experiments.fashion import cnn2
  bound = fashion_space.max_params()
  assert bound == flax_params(models.build(cnn2.get_config().model))
  two_conv = nas_cnn.VARIANTS['fashion2conv'][1]['arch']
  assert nas_cnn.num_params(two_conv) == bound and two_conv in fashion_space.space()
  # The same network: the 2-conv member's parameter tree is models/cnn.py's fashion2conv's.
  member = jax.eval_shape(lambda: nas_cnn.SpaceCNN(arch=two_conv).init(
      jax.random.key(0), jnp.zeros((1, 28, 28, 1))))
  reference = jax.eval_shape(lambda: models.build(cnn2.get_config().model).init(
      jax.random.key(0), jnp.zeros((1, 28, 28, 1))))
  assert jax.tree.map(lambda a: a.shape, member) == jax.tree.map(lambda a: a.shape, reference)


def test_space_is_indexed_both_ways_and_holds_exactly_the_members_under_the_bound():
  space = fashion_space.space()
  rng = np.random.default_rng(0)
  for i in map(int, rng.choice(space.size, 300, replace=False)):
    arch = space.from_index(i)
    assert space.index(arch) == i and nas_cnn.from_code(nas_cnn.code(arch)) == arch
    assert space.num_params(arch) <= space.max_params
  assert np.all(np.diff(space.codes) > 0)
  # Every architecture of the unbounded space is a member iff it is within the bound.
  outside = 0
  for c in map(int, rng.integers(0, nas_cnn._OFFSETS[-1], 2000)):
    arch = nas_cnn.from_code(c)
    inside = space.num_params(arch) <= space.max_params
    assert (arch in space) == inside == (c in set(space.codes[np.searchsorted(space.codes, [c])]))
    outside += not inside
  assert outside > 0    # the bound does cut (e.g. wide unpooled maps before the dense layer)
  too_big = (nas_cnn.op(128, 5, N),) * 2 + (2,)     # 28 * 28 * 128 features into 1024 units
  assert too_big not in space
  with pytest.raises(ValueError, match='parameters, over'):
    space.index(too_big)


@pytest.mark.parametrize('arch', [
    (nas_cnn.op(16, 3, M), nas_cnn.op(32, 5, A), 0),
    (nas_cnn.op(64, 5, N), nas_cnn.op(16, 3, M), nas_cnn.op(128, 3, A), 1),
    (nas_cnn.op(32, 3, M), nas_cnn.op(32, 5, M), nas_cnn.op(16, 5, M), nas_cnn.op(16, 3, M), 2),
])
def test_closed_form_counts_equal_flax_and_the_vectorized_ones(arch):
  assert nas_cnn.num_params(arch) == flax_params(nas_cnn.SpaceCNN(arch=arch))
  counts = nas_cnn._all_num_params(28, 1, 10)
  assert counts[nas_cnn.code(arch)] == nas_cnn.num_params(arch)


def test_bad_architectures_name_the_problem():
  with pytest.raises(ValueError, match='block ops then a width'):
    nas_cnn.validate((0, 1))
  with pytest.raises(ValueError, match='block op 24'):
    nas_cnn.validate((24, 0, 0))
  with pytest.raises(ValueError, match='width index 3'):
    nas_cnn.validate((0, 0, 3))
  assert nas_cnn.describe(nas_cnn.VARIANTS['fashion2conv'][1]['arch']) == \
      '32c5max > 64c5max > dense1024'


def test_choices_decode_codes():
  arch = (nas_cnn.op(64, 3, A), nas_cnn.op(16, 5, N), 1)
  got = nas_cnn.choices([nas_cnn.code(arch)])[0]
  assert got.tolist() == [1, 2, 0, 1, 0, 1, 2] + [-1] * 6


@pytest.mark.slow   # ~25 CPU s, most of it XLA compiling four small CNNs' gradients: CI, .ci/run
def test_population_candidates_equal_space_cnns_in_output_and_gradient():
  """Candidate p of PopulationCNN with SpaceCNN(archs[p])'s parameters gives its logits, and the
  gradient of the summed loss w.r.t. candidate p is SpaceCNN's own gradient. (8x8 images: the
  networks are the same for any size, and compile faster.)"""
  archs = ((nas_cnn.op(16, 5, 'none'), nas_cnn.op(32, 3, M), 0),
           (nas_cnn.op(16, 3, A), nas_cnn.op(16, 5, M), nas_cnn.op(16, 3, N), 1))
  x = jax.random.uniform(jax.random.key(1), (4, 8, 8, 1))
  labels = jnp.arange(4) % 10
  singles = [nas_cnn.SpaceCNN(arch=a) for a in archs]
  population = nas_cnn.PopulationCNN(archs=archs)
  # Biases start at 0: the population's own init, perturbed, so that they count too.
  params = jax.jit(lambda k: jax.tree.map(
      lambda a: a + 0.05 * jax.random.normal(k, a.shape), population.init(k, x)['params']))(
          jax.random.key(0))
  for p, m in enumerate(singles):
    assert jax.tree.map(jnp.shape, params[f'candidate_{p}']) == jax.tree.map(
        jnp.shape, jax.eval_shape(m.init, jax.random.key(0), x)['params'])

  def xent(logits):
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

  @jax.jit
  def both(params):
    def total(p):
      logits = population.apply({'params': p}, x)
      return sum(xent(logits[i]) for i in range(len(archs))), logits
    (_, logits), grads = jax.value_and_grad(total, has_aux=True)(params)
    alone = [jax.value_and_grad(lambda q, m=m: xent(m.apply({'params': q}, x)))(
        params[f'candidate_{p}']) for p, m in enumerate(singles)]
    outs = [m.apply({'params': params[f'candidate_{p}']}, x) for p, m in enumerate(singles)]
    return logits, grads, alone, outs

  logits, grads, alone, outs = both(params)
  assert logits.shape == (2, 4, 10)
  for p in range(len(archs)):
    np.testing.assert_allclose(logits[p], outs[p], rtol=1e-5, atol=1e-6)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7),
                 grads[f'candidate_{p}'], alone[p][1])


def test_population_eval_counts_each_candidates_correct_predictions():
  from train.objectives.population import PopulationClassification
  logits = jnp.array([[[1., 0.], [1., 0.], [0., 1.]], [[0., 1.], [0., 1.], [0., 1.]]])  # [2, 3, 2]
  batch = {'label': jnp.array([0, 1, 1]), 'mask': jnp.array([1., 1., 0.])}
  sums = PopulationClassification.eval_tables(
      type('O', (), {'label_key': 'label'})(), logits, batch)
  assert sums['candidate_correct'].tolist() == [1., 1.]   # the masked third example not counted


# --- Pool strategies on a tiny synthetic space ----------------------------------------------
CARD = (2, 2, 2, 2)            # widths, channels, kernels, pools


def _tiny_pool():
  """Every architecture of a space of 1-2 blocks with two values per choice: [144, 7]."""
  rows = []
  for depth in (1, 2):
    for w in range(CARD[0]):
      for blocks in itertools.product(itertools.product(*map(range, CARD[1:])), repeat=depth):
        rows.append([w] + [f for b in blocks for f in b] + [-1] * 3 * (2 - depth))
  return np.array(rows)


def _table(valid):
  n = len(valid)
  return table_lib.Table(budgets=(100,), seeds=(0,), valid=np.asarray(valid)[None, None],
                         test=np.asarray(valid)[None, None], num_params=np.zeros(n, int),
                         meta={}, codes=np.arange(n))


def test_pool_mutation_changes_one_choice_when_the_pool_has_the_mutant():
  pool = _tiny_pool()
  mutate = strategies.pool_mutation(pool, CARD, 1, 2)
  rng = np.random.default_rng(0)
  parents = rng.integers(0, len(pool), 500)
  children = mutate(parents, rng, np.zeros((500, len(pool)), bool))
  diff = pool[children] != pool[parents]
  depth_change = (pool[children][:, 1::3] >= 0).sum(1) != (pool[parents][:, 1::3] >= 0).sum(1)
  # One field changed, or a block added (its 3 fields set) or the last one removed.
  assert np.all(np.where(depth_change, diff[:, 4:].sum(1) == 3, diff.sum(1) == 1))
  assert depth_change.any() and (~depth_change).any()
  # Queried members are never children: with all but one member visited, that one is the child.
  visited = np.ones((2, len(pool)), bool)
  visited[:, 7] = False
  assert mutate(np.array([0, 1]), rng, visited).tolist() == [7, 7]


def test_strategies_spend_exactly_the_budget_on_distinct_members(monkeypatch):
  pool = _tiny_pool()
  valid = np.random.default_rng(1).permutation(len(pool)).astype(np.float32) / len(pool)
  table = _table(valid)
  asked, real = [], strategies.query

  def counted(t, archs, budget_index, rng):   # every query of every search, [runs, k] each
    asked.append(np.asarray(archs).reshape(len(archs), -1))
    return real(t, archs, budget_index, rng)
  monkeypatch.setattr(strategies, 'query', counted)
  mutate = strategies.pool_mutation(pool, CARD, 1, 2)
  for name in fashion_search.NAMES:
    asked.clear()
    rng = np.random.default_rng(2)
    if name == 'random search':
      inc = strategies.random_search_trace(table, 25, 40, rng)
    else:
      inc = strategies.evolution_trace(table, 25, 40, rng, 10, 3, mutate)
    queried = np.concatenate(asked, 1)
    assert queried.shape == (40, 25) and inc.shape == (40, 25)       # 25 queries per search
    assert all(len(set(q)) == 25 for q in queried)                    # all distinct
    best = np.maximum.accumulate(valid[queried], axis=1)
    np.testing.assert_array_equal(valid[inc], best)                 # best found so far


def test_evolution_claim_measures_re_minus_rs_and_plots_best_so_far(monkeypatch, tmp_path):
  from experiments.nas import fashion_evolution_vs_random as claim
  pool = _tiny_pool()
  # Validation grows with the width and the first block's channels: neighbours look alike.
  valid = (0.7 + 0.1 * pool[:, 0] + 0.05 * pool[:, 1]
           + 0.01 * np.random.default_rng(3).random(len(pool))).astype(np.float32)
  table = _table(valid)
  monkeypatch.setattr(fashion_search, 'load', lambda: table)
  monkeypatch.setattr(fashion_search, 'mutation',
                      lambda t: strategies.pool_mutation(pool, CARD, 1, 2))
  monkeypatch.setattr(fashion_search, 'SEARCHES', 100)
  value, seen = claim.measure(0, tmp_path, [])
  assert value == pytest.approx(seen['regularized_evolution'] - seen['random_search'])
  assert seen['pool_best'] == pytest.approx(valid.max())
  assert (tmp_path / 'plots' / 'best_so_far.png').stat().st_size > 0
  with pytest.raises(ValueError, match='no --config overrides'):
    claim.measure(0, tmp_path, ['--config.seed=1'])


def test_claims_say_how_to_build_a_missing_table(monkeypatch, tmp_path):
  monkeypatch.setattr(table_lib, 'FASHION_PATH', str(tmp_path / 'absent.npz'))
  with pytest.raises(FileNotFoundError, match='make_fashion_table'):
    fashion_search.load()
  assert fashion_search.shipped_pick() is None


# --- One step of each new config on mock data ---------------------------------------------
def _traced_step(c):
  t = mock_step.traced_step(c)
  return t.run, t.state, t.metrics, t.sums


def test_evolution_claim_config_step_traces_on_mock_fashion_mnist():
  from experiments.nas import fashion_evolution_vs_random as claim
  run, state, metrics, sums = _traced_step(claim.get_config('tiny'))
  assert set(state.params) == {f'candidate_{p}' for p in range(4)}
  assert metrics['loss'].shape == () and sums['candidate_correct'].shape == (4,)


def test_retrain_claim_config_step_traces_on_mock_fashion_mnist():
  from experiments.nas import fashion_retrain_best as claim
  c = claim.get_config('tiny')
  assert tuple(c.model.arch) in fashion_space.space()
  _, state, metrics, sums = _traced_step(c)
  assert metrics['loss'].shape == () and 'accuracy' in sums


@pytest.mark.slow   # ~8 CPU s (the DARTS search network's trace): CI, .ci/run
def test_darts_fashion_search_step_traces_on_mock_fashion_mnist():
  from experiments.nas import darts_fashion
  full = darts_fashion.search_config('full')
  assert (full.model.variant, full.data.name, full.num_steps) == (
      'search_cifar10', 'fashion_mnist', 23450)
  _, state, metrics, _ = _traced_step(darts_fashion.search_config('tiny'))
  assert set(state.params) == {'w', 'alpha'} and metrics['loss'].shape == ()
