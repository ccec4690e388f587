"""Searches over the Fashion pool table, simulated: what the Fashion NAS claims measure.

The table (experiments/nas/table/cnn_fashion.npz, `python -m experiments.nas.make_fashion_table`)
holds a uniform sample of the CNN space trained once at low fidelity. A search queries pool
members; every query costs the same (one low-fidelity training run) and returns the member's
validation accuracy; the budget is a number of queries. Random search queries distinct members
at random; regularized evolution (Real et al. 2019: population POPULATION, tournament SAMPLE, the
oldest removed) mutates within the pool (strategies.pool_mutation: one choice changed in the
space, then the nearest member not yet queried). A search is scored by the validation accuracy
of the best member it found.
"""

import functools
import os

import numpy as np

from experiments.nas import strategies
from experiments.nas import table as table_lib
from models import nas_cnn

BUDGET = 24          # queries per search: a fifth of the pool
POPULATION = 10      # regularized evolution's population and tournament size
SAMPLE = 3
SEARCHES = 2000      # simulated searches per strategy and search seed
PICK_SEARCHES = 100  # RE searches per search seed behind the retrained pick
SEEDS = tuple(range(10))
NAMES = ('random search', 'regularized evolution')


def load():
  """The shipped pool table, or a FileNotFoundError that says how to build it."""
  try:
    return table_lib.load(table_lib.FASHION_PATH)
  except FileNotFoundError:
    raise FileNotFoundError(
        f'the Fashion NAS pool table {table_lib.FASHION_PATH} is not there: build it with '
        '`python -m experiments.nas.make_fashion_table` (see experiments/nas/README.md)') from None


def mutation(table):
  return strategies.pool_mutation(
      nas_cnn.choices(table.codes),
      (len(nas_cnn.WIDTHS), len(nas_cnn.CHANNELS), len(nas_cnn.KERNELS), len(nas_cnn.POOLS)),
      min(nas_cnn.DEPTHS), max(nas_cnn.DEPTHS))


def incumbents(table, strategy: str, seed: int, budget: int = BUDGET, runs: int = 0,
               population: int = POPULATION, sample: int = SAMPLE) -> np.ndarray:
  """The best member found after each query [runs, budget] (pool positions) of `runs` searches
  (0: SEARCHES)."""
  runs = runs or SEARCHES
  if budget >= table.num_archs:
    raise ValueError(f'a budget of {budget} queries covers the pool of {table.num_archs}')
  rng = np.random.default_rng([seed, NAMES.index(strategy)])
  if strategy == 'random search':
    return strategies.random_search_trace(table, budget, runs, rng)
  return strategies.evolution_trace(table, budget, runs, rng, population, sample, mutation(table))


def best_so_far(table, strategy: str, seed: int, **kwargs) -> np.ndarray:
  """Validation accuracy of the best member found after each query [runs, budget]."""
  valid = table.valid[-1].mean(0)        # the seed mean (the pool table has one seed)
  return valid[incumbents(table, strategy, seed, **kwargs)]


def evolution_pick(table, seeds=SEEDS, runs=PICK_SEARCHES) -> int:
  """The best regularized-evolution pick: of the members that RE's searches (`runs` per search
  seed) ended with, the one of highest validation accuracy (pool position)."""
  valid = table.valid[-1].mean(0)
  found = np.unique(np.concatenate([
      incumbents(table, 'regularized evolution', s, runs=runs)[:, -1] for s in seeds]))
  return int(found[np.argmax(valid[found])])


def shipped_pick():
  """(architecture, pool position) of the best RE pick on the shipped table; None without it."""
  if not os.path.exists(table_lib.FASHION_PATH):
    return None
  return _pick(table_lib.FASHION_PATH, os.path.getmtime(table_lib.FASHION_PATH))


@functools.lru_cache(maxsize=2)
def _pick(path, mtime):
  del mtime   # a key only: a rebuilt table is read again
  table = table_lib.load(path)
  i = evolution_pick(table)
  return nas_cnn.from_code(int(table.codes[i])), i


def plot(curves: dict, path, title: str) -> None:
  """Best-so-far validation accuracy against the budget: mean over searches, 95% band."""
  import matplotlib
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt
  fig, ax = plt.subplots(figsize=(6.4, 4.2))
  for name, best in curves.items():
    x = np.arange(1, best.shape[1] + 1)
    mean = best.mean(0)
    half = 1.96 * best.std(0, ddof=1) / np.sqrt(len(best))
    ax.plot(x, mean, label=f'{name} ({len(best)} searches)')
    ax.fill_between(x, mean - half, mean + half, alpha=0.25)
  ax.set_xlabel('budget (queries: low-fidelity training runs)')
  ax.set_ylabel('best validation accuracy found')
  ax.set_title(title)
  ax.grid(alpha=0.3)
  ax.legend()
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)
