"""The tabular benchmark: every architecture of the MLP space, trained, as a lookup table.

  from experiments.nas import table
  t = table.load()
  t.test_accuracy((7, 7, 7), budget=t.budgets[-1])       # mean over seeds
  t.valid_accuracy((7, 7, 7), budget=30, seed=1)         # one seed's run
  t.median_test_accuracy(t.budgets[-1]), t.best_test_accuracy(t.budgets[-1])

Built by `python -m experiments.nas.make_table` (see there for data, splits and schedule); the
arrays are [budget, seed, architecture index] (models/nas_mlp.py `index`/`from_index`).

`load(FASHION_PATH)` is the Fashion study's table of a sample of the CNN space (built by
`python -m experiments.nas.make_fashion_table`): one budget, one seed, and `codes`, the sampled
architectures (models/nas_cnn.py `from_code`), in the order of the last axis.
"""

import dataclasses
import json
import os

import numpy as np

from models import nas_mlp

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'table', 'mlp_digits.npz')
FASHION_PATH = os.path.join(os.path.dirname(PATH), 'cnn_fashion.npz')


@dataclasses.dataclass(frozen=True)
class Table:
  budgets: tuple[int, ...]      # training steps
  seeds: tuple[int, ...]
  valid: np.ndarray             # [budget, seed, arch] validation accuracy
  test: np.ndarray              # [budget, seed, arch] test accuracy
  num_params: np.ndarray        # [arch]
  meta: dict
  codes: np.ndarray | None = None   # a sampled table's architectures (the space's codes)

  @property
  def num_archs(self) -> int:
    return self.test.shape[-1]

  def budget_index(self, budget: int) -> int:
    if budget not in self.budgets:
      raise ValueError(f'budget {budget} is not in the table; budgets: {self.budgets}')
    return self.budgets.index(budget)

  def _lookup(self, array, arch, budget, seed):
    i = arch if isinstance(arch, (int, np.integer)) else nas_mlp.index(arch)
    row = array[self.budget_index(budget), :, i]
    return float(row.mean() if seed is None else row[self.seeds.index(seed)])

  def test_accuracy(self, arch, budget: int, seed: int | None = None) -> float:
    """Test accuracy of `arch` (tuple or index) after `budget` steps; seed None = seed mean."""
    return self._lookup(self.test, arch, budget, seed)

  def valid_accuracy(self, arch, budget: int, seed: int | None = None) -> float:
    return self._lookup(self.valid, arch, budget, seed)

  def mean_test(self, budget: int) -> np.ndarray:
    """Seed-mean test accuracy of every architecture [arch]."""
    return self.test[self.budget_index(budget)].mean(0)

  def median_test_accuracy(self, budget: int) -> float:
    """Median over architectures of the seed-mean test accuracy."""
    return float(np.median(self.mean_test(budget)))

  def best_test_accuracy(self, budget: int) -> float:
    """Best seed-mean test accuracy of any architecture: the zero of regret."""
    return float(self.mean_test(budget).max())

  def best_architecture(self, budget: int) -> tuple[int, ...]:
    return nas_mlp.from_index(int(np.argmax(self.mean_test(budget))))


def load(path: str = PATH) -> Table:
  with np.load(path) as f:
    meta = json.loads(str(f['meta']))
    return Table(budgets=tuple(meta['budgets']), seeds=tuple(meta['seeds']), valid=f['valid'],
                 test=f['test'], num_params=f['num_params'], meta=meta,
                 codes=f['codes'] if 'codes' in f.files else None)
