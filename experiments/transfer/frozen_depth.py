"""Transfer, frozen features: the deeper the frozen copy, the more it costs (Yosinski et al. 2014).

Pre-train an MLP (64-64-64) on digits 0-4, copy its first n layers into a net for digits 5-9
trained on 10 labels per class, keep them frozen. Claim: freezing two layers costs at least 5
points more than freezing one (the second layer is already specific to the source classes).

  python -m experiments.reproduce experiments/transfer/frozen_depth.py
  python -m experiments.transfer.study          # the whole grid, table and plot
"""

from experiments.transfer import common
from experiments.transfer import study


def get_config(arg: str = ''):
  if arg == 'full':
    return common.full_config()
  if arg == 'pretrain':
    return study.pretrain_config(0)
  return study.target_config(0, 2, 'frozen', 10)   # trains from scratch unless init_from is set


def get_record():
  from experiments.records import Claim
  return common.record(
      claim=Claim(
          statement='frozen transferred features get more task-specific with depth: freezing the '
                    'first two layers costs >= 5 points more than freezing only the first',
          setting='digits 0-4 -> 5-9 (scikit-learn 8x8), MLP 64-64-64, 10 labels per class, '
                  '600 Adam steps; accuracy(frozen 1) - accuracy(frozen 2)',
          metric='accuracy difference', threshold=0.05, direction='>=', seeds=(0, 1, 2),
          measure=common.difference(('frozen', 1), ('frozen', 2), 10), minutes=4.0))
