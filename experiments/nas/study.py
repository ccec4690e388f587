"""python -m experiments.nas.study [--workdir runs/nas_study] [--runs 500]

Regret against budget for every strategy of experiments/nas/strategies.py, simulated on the
shipped table: `runs` independent searches per strategy and budget. Prints mean regret ± its
standard error per budget and writes `regret.png` (one curve per strategy, band = 95% interval
of the mean) and `regret.json` into the workdir. Budgets are counted in training steps and shown
in units of one full training run (the table's largest budget).
"""

import argparse
import json
import os

import numpy as np

from experiments.nas import strategies
from experiments.nas import table as table_lib

BUDGETS = (2, 5, 10, 25, 50, 100, 200)    # full-training-run equivalents
RUNS = 500


def regrets(table, strategy: str, evals: int, runs: int = RUNS, seed: int = 0) -> np.ndarray:
  """Regret of `runs` simulated searches with `evals` full runs' worth of training steps."""
  rng = np.random.default_rng([seed, evals, sorted(strategies.STRATEGIES).index(strategy)])
  selected = strategies.STRATEGIES[strategy](table, evals * table.budgets[-1], runs, rng)
  return strategies.regret(table, selected)


def regret_gap(baseline: str, contender: str, evals: int, runs: int = RUNS):
  """A claim's measure: mean regret(baseline) - mean regret(contender) over `runs` searches each
  (> 0: the contender selects better architectures at this budget). Claim seeds pick the
  simulation's random numbers; nothing is trained (the table was: make_table.py)."""
  def measure(seed, workdir, overrides):
    del workdir
    if overrides:
      raise ValueError('this claim simulates searches on the shipped table; it takes no '
                       f'--config overrides (got {overrides})')
    table = table_lib.load()
    return float(regrets(table, baseline, evals, runs, seed).mean()
                 - regrets(table, contender, evals, runs, seed).mean())
  return measure


def plot(results, steps_per_eval, path):
  import matplotlib
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt
  fig, ax = plt.subplots(figsize=(6.4, 4.2))
  for name, rows in results.items():
    x = np.array([r['evals'] for r in rows])
    mean = np.array([r['mean'] for r in rows])
    half = 1.96 * np.array([r['sem'] for r in rows])
    ax.plot(x, mean, marker='o', ms=3, label=name)
    ax.fill_between(x, mean - half, mean + half, alpha=0.25)
  ax.set_xscale('log')
  ax.set_yscale('log')
  ax.set_xlabel(f'budget (full training runs of {steps_per_eval} steps)')
  ax.set_ylabel('test regret (accuracy)')
  ax.set_title('NAS on the 1000-architecture MLP table (digits)')
  ax.grid(alpha=0.3)
  ax.legend()
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  plt.close(fig)


def main(argv=None):
  parser = argparse.ArgumentParser(prog='python -m experiments.nas.study', description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--workdir', default='runs/nas_study')
  parser.add_argument('--runs', type=int, default=RUNS)
  parser.add_argument('--seed', type=int, default=0)
  args = parser.parse_args(argv)
  table = table_lib.load()
  os.makedirs(args.workdir, exist_ok=True)
  results = {}
  print(f'mean test regret ± standard error over {args.runs} runs; budget in full runs of '
        f'{table.budgets[-1]} steps')
  print('budget  ' + ''.join(f'{n:>24}' for n in strategies.STRATEGIES))
  for evals in BUDGETS:
    cells = []
    for name in strategies.STRATEGIES:
      r = regrets(table, name, evals, args.runs, args.seed)
      row = {'evals': evals, 'steps': evals * table.budgets[-1], 'mean': float(r.mean()),
             'sem': float(r.std(ddof=1) / np.sqrt(len(r)))}
      results.setdefault(name, []).append(row)
      cells.append(f'{row["mean"]:.4f} ± {row["sem"]:.4f}')
    print(f'{evals:>6}  ' + ''.join(f'{c:>24}' for c in cells))
  png = os.path.join(args.workdir, 'regret.png')
  plot(results, table.budgets[-1], png)
  with open(os.path.join(args.workdir, 'regret.json'), 'w') as f:
    json.dump({'runs': args.runs, 'steps_per_eval': table.budgets[-1], 'results': results}, f,
              indent=2)
  print(f'wrote {png}')


if __name__ == '__main__':
  main()
