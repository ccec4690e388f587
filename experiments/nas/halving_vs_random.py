"""NAS: successive halving beats random search at a small budget (multi-fidelity; Jamieson &
Talwalkar 2016, Li et al. 2018 Hyperband).

Simulated on our tabular benchmark (see evolution_vs_random.py; the table holds validation and
test accuracy after 30, 90 and 270 training steps). Both strategies spend 25 full training runs'
worth of steps (25 x 270 = 6,750 steps). Random search trains 25 architectures for 270 steps;
successive halving (eta = 3) trains 75 for 30 steps, the best 25 by validation for 90, the best
8 for 270, and selects the best of those. A query at b steps costs b steps (a promoted
architecture is trained again from scratch, no reuse). Each claim seed is 500 simulated
searches per strategy.

  python -m experiments.reproduce experiments/nas/halving_vs_random.py
"""

from experiments.nas import evolution_vs_random
from experiments.nas import study

EVALS = 25


def get_config(arg: str = ''):
  """The same table run as evolution_vs_random.py (the claim is simulated on its table)."""
  return evolution_vs_random.get_config(arg)


def get_record():
  from experiments.records import Claim, Paper, Record
  return Record(
      paper=Paper('Jamieson & Talwalkar', 2016,
                  'Non-stochastic best arm identification and hyperparameter optimization '
                  '(AISTATS); used as the inner loop of Hyperband (Li et al. 2018, JMLR)',
                  'https://arxiv.org/abs/1502.07943', 'abstract; experiments'),
      metric='test error of the configuration found against budget',
      paper_value='qualitative: successive halving reaches test accuracy comparable to the '
                  'baselines (uniform allocation, i.e. random search) an order of magnitude faster',
      paper_setting='hyperparameter search for ridge regression, kernel SVM and neural '
                    'networks, budget = training iterations',
      full_hardware='the table build: 1 CPU/GPU/TPU host (all 1000 candidates in one step)',
      full_time='~13 min on 2 shared CPU cores for 3 seeds',
      claim=Claim(
          statement='successive halving selects better architectures than random search at a '
                    f'budget of {EVALS} full training runs: mean regret(SH) < mean regret(RS)',
          setting=f'1000-architecture MLP table on digits (3 seeds, 30/90/270 steps); budget '
                  f'{EVALS} x 270 = {EVALS * 270} steps; 500 simulated searches per strategy '
                  'and seed; SH eta 3 over 30/90/270 steps',
          metric='mean regret(RS) - mean regret(SH)', threshold=0.003, direction='>=',
          seeds=(0, 1, 2), measure=study.regret_gap('random search', 'successive halving', EVALS),
          minutes=0.3),
      notes='Nothing is trained by the claim: it simulates searches on the shipped table.',
  )
