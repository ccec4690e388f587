"""Search strategies over the tabular benchmark, simulated: hundreds of runs in a second.

Every strategy spends a budget counted in TRAINING STEPS: a query of architecture a at budget b
(one of the table's budgets) costs b steps and returns the validation accuracy of one training
run, a seed drawn from the table's seeds per query (a re-query is a fresh run). Strategies select
by validation accuracy only. The selected architecture's quality is its seed-mean test accuracy
at the table's largest budget, and

  regret = best seed-mean test accuracy of any architecture (largest budget)
           - seed-mean test accuracy of the selected architecture (largest budget),

so 0 is the best architecture of the space, whatever budget the strategy queried it at.

Each function runs `runs` independent searches at once (arrays with a leading run axis) and
returns the selected architecture index per run [runs].
"""

import numpy as np

from models import nas_mlp


_OPS_OF = np.array(nas_mlp.all_architectures())           # [arch index, LAYERS]


def query(table, archs, budget_index, rng):
  """Validation accuracy of architectures `archs` (int array, any shape) at table budget
  `budget_index`, one random seed's run each."""
  seeds = rng.integers(0, len(table.seeds), np.shape(archs))
  return table.valid[budget_index, seeds, archs]


def regret(table, selected):
  """Regret of the selected architecture indices (array), as the module docstring defines it."""
  mean = table.mean_test(table.budgets[-1])
  return mean.max() - mean[np.asarray(selected)]


def _distinct(rng, runs, n, num_archs):
  """n distinct architecture indices per run [runs, n]."""
  return np.argsort(rng.random((runs, num_archs)), axis=1)[:, :n]


def _incumbent(archs, values, num_archs):
  """Selected architecture after each query [runs, queries]: the one with the best validation
  so far, an architecture queried several times (evolution re-discovers some) judged by the mean
  of its queries, i.e. by all the evidence on it."""
  runs, queries = archs.shape
  rows = np.arange(runs)
  sums, counts = np.zeros((runs, num_archs)), np.zeros((runs, num_archs))
  out = np.empty_like(archs)
  for q in range(queries):
    sums[rows, archs[:, q]] += values[:, q]
    counts[rows, archs[:, q]] += 1
    mean = np.where(counts > 0, sums / np.maximum(counts, 1), -np.inf)
    out[:, q] = np.argmax(mean, axis=1)
  return out


def random_search_trace(table, num_evals, runs, rng):
  """Random search, every query at the largest budget, distinct architectures. Returns the
  selection after each of `num_evals` queries [runs, num_evals]."""
  archs = _distinct(rng, runs, num_evals, table.num_archs)
  return _incumbent(archs, query(table, archs, len(table.budgets) - 1, rng), table.num_archs)


def random_search(table, budget_steps, runs, rng):
  n = max(1, budget_steps // table.budgets[-1])
  return random_search_trace(table, n, runs, rng)[:, -1]


def mutate(archs, rng):
  """Each architecture with one layer's op replaced by a different op, uniformly."""
  ops = _OPS_OF[archs]                                    # [runs, LAYERS]
  layer = rng.integers(0, nas_mlp.LAYERS, len(archs))
  rows = np.arange(len(archs))
  shift = rng.integers(1, len(nas_mlp.OPS), len(archs))   # never the same op
  ops[rows, layer] = (ops[rows, layer] + shift) % len(nas_mlp.OPS)
  return (ops * len(nas_mlp.OPS) ** np.arange(nas_mlp.LAYERS)[::-1]).sum(1)


def evolution_trace(table, num_evals, runs, rng, population=20, sample=5, mutation=None):
  """Regularized (aging) evolution (Real et al. 2019, Algorithm 1), every query at the largest
  budget: start from `population` random architectures; then repeatedly draw `sample` members
  at random, mutate the best of them (one op), evaluate the child, add it and remove the OLDEST
  member. Returns the selection (best validation in the whole history) after each query.

  `mutation(parents, rng, visited) -> children` replaces the MLP space's one-op `mutate`, for a
  table that is a sample of its space (`pool_mutation`); visited [runs, archs] marks what each
  search has queried."""
  top = len(table.budgets) - 1
  first = min(population, num_evals)
  pop = _distinct(rng, runs, first, table.num_archs)
  val = query(table, pop, top, rng)
  archs, values = [pop], [val]
  rows = np.arange(runs)
  visited = np.zeros((runs, table.num_archs), bool)
  visited[rows[:, None], pop] = True
  for t in range(num_evals - first):
    picks = np.argsort(rng.random((runs, population)), axis=1)[:, :sample]
    parent = pop[rows, picks[rows, np.argmax(val[rows[:, None], picks], axis=1)]]
    child = mutate(parent, rng) if mutation is None else mutation(parent, rng, visited)
    visited[rows, child] = True
    child_val = query(table, child, top, rng)
    oldest = t % population            # members sit in the order they were born
    pop, val = pop.copy(), val.copy()
    pop[:, oldest], val[:, oldest] = child, child_val
    archs.append(child[:, None])
    values.append(child_val[:, None])
  return _incumbent(np.concatenate(archs, 1), np.concatenate(values, 1), table.num_archs)


def pool_mutation(choices, cardinalities, min_depth, max_depth):
  """Mutation over a table that holds a sample (a pool) of a larger space: change one choice of
  the parent in the space, then take the pool member nearest to that mutant (L1 distance over
  the choice indices, ties at random) among those this search has not queried yet. So a child is
  always new, and as close as the pool allows to a one-choice mutation of its parent.

  choices [archs, 1 + 3 * max_depth]: per pool member, a global choice (the dense width) then
  (channels, kernel, pool) per block, -1 for absent blocks (models/nas_cnn.py `choices`);
  cardinalities: the number of values of each of those 4 kinds. A mutation changes the width,
  one field of a present block, or the depth (a block added with random fields, or the last
  one removed), each of these moves equally likely."""
  choices = np.asarray(choices)
  width_n, *block_n = cardinalities
  # |v - choices[:, f]| for every field f and value v in -1..max: the distance is a sum of lookups.
  values = np.arange(-1, max(cardinalities))
  apart = np.abs(values[None, :, None] - choices.T[:, None, :]).astype(np.float32)  # [f, v, arch]
  fields = np.arange(choices.shape[1])

  def mutation(parents, rng, visited):
    m = choices[parents].copy()                            # [runs, fields]
    runs = len(parents)
    rows = np.arange(runs)
    depth = (m[:, 1::3] >= 0).sum(1)
    move = (rng.random(runs) * (2 + 3 * depth)).astype(int)   # width, 3 per block, depth
    shift = rng.random(runs)
    width = move == 0
    m[width, 0] = (m[width, 0] + 1 + (shift[width] * (width_n - 1)).astype(int)) % width_n
    field = (move >= 1) & (move <= 3 * depth)
    kind = (move - 1) % 3
    card = np.asarray(block_n)[kind]
    col = np.where(field, move, 0)
    m[rows[field], col[field]] = (m[rows[field], col[field]] + 1
                                  + (shift[field] * (card[field] - 1)).astype(int)) % card[field]
    deeper = move == 2 + 3 * depth - 1
    add = deeper & ((depth == min_depth) | ((depth < max_depth) & (shift < 0.5)))
    drop = deeper & ~add
    for r in np.flatnonzero(add):
      m[r, 1 + 3 * depth[r]:4 + 3 * depth[r]] = [rng.integers(0, n) for n in block_n]
    for r in np.flatnonzero(drop):
      m[r, 1 + 3 * (depth[r] - 1):4 + 3 * (depth[r] - 1)] = -1
    distance = apart[fields, m + 1].sum(1)                 # [runs, arch]
    distance += rng.random(distance.shape, np.float32) * 0.5   # ties at random
    distance[visited] = np.inf
    return np.argmin(distance, axis=1)
  return mutation


def evolution(table, budget_steps, runs, rng, population=20, sample=5, mutation=None):
  n = max(1, budget_steps // table.budgets[-1])
  return evolution_trace(table, n, runs, rng, population, sample, mutation)[:, -1]


def halving_plan(budgets, budget_steps, eta=3, start=0, max_archs=1000):
  """How many architectures successive halving starts with from rung `start`: the most whose
  whole bracket (n, n/eta, n/eta^2, ... at budgets[start], budgets[start+1], ...) fits in
  budget_steps. Returns the count per rung, or None if not even one per rung fits."""
  best = None
  for n in range(1, max_archs + 1):
    counts = [max(1, n // eta ** r) for r in range(len(budgets) - start)]
    if sum(c * b for c, b in zip(counts, budgets[start:])) > budget_steps:
      break
    best = counts
  return best


def successive_halving(table, budget_steps, runs, rng, eta=3, start=None):
  """Successive halving (Jamieson & Talwalkar 2016; Li et al. 2018, Hyperband's inner loop) over
  the table's budgets: n random architectures at the smallest budget, the best 1/eta of them by
  validation re-trained at the next budget (a fresh run, full price), ..., the best at the
  largest budget is selected. `start` None: the lowest rung from which the budget affords a
  full bracket (n >= eta^rungs), else the largest rung (random search)."""
  return _halving(table, budget_steps, runs, rng, eta, start)[0]


def _halving(table, budget_steps, runs, rng, eta, start):
  """(selected architecture [runs], its validation accuracy at the largest budget [runs])."""
  budgets = table.budgets
  if start is None:
    start = len(budgets) - 1
    for s in range(len(budgets)):
      plan = halving_plan(budgets, budget_steps, eta, s)
      if plan and plan[0] >= eta ** (len(budgets) - 1 - s):
        start = s
        break
  plan = halving_plan(budgets, budget_steps, eta, start) or [1]
  archs = _distinct(rng, runs, plan[0], table.num_archs)
  for r, keep in enumerate(plan[1:] + [1]):
    val = query(table, archs, start + r, rng)
    order = np.argsort(-val, axis=1, kind='stable')[:, :keep]
    archs, val = np.take_along_axis(archs, order, 1), np.take_along_axis(val, order, 1)
  return archs[:, 0], val[:, 0]


def hyperband(table, budget_steps, runs, rng, eta=3):
  """Hyperband (Li et al. 2018): the budget split equally between successive-halving brackets
  that start at each rung (from the most exploratory to plain random search at the largest
  budget); the selection is the finalist with the best validation at the largest budget."""
  share = budget_steps // len(table.budgets)
  brackets = [s for s in range(len(table.budgets)) if halving_plan(table.budgets, share, eta, s)]
  if not brackets:
    return random_search(table, budget_steps, runs, rng)
  share = budget_steps // len(brackets)
  found = [_halving(table, share, runs, rng, eta, s) for s in brackets]
  archs, val = np.stack([a for a, _ in found], 1), np.stack([v for _, v in found], 1)
  return archs[np.arange(runs), np.argmax(val, axis=1)]


STRATEGIES = {
    'random search': random_search,
    'regularized evolution': evolution,
    'successive halving': successive_halving,
    'hyperband': hyperband,
}
