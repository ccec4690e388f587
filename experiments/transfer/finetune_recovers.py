"""Transfer, fine-tuned features: fine-tuning the copied layers recovers what freezing cost
(AnB+ against AnB in Yosinski et al. 2014).

Same set-up as frozen_depth.py: the first two layers copied from the digits 0-4 net, then trained
on 10 labels per class of digits 5-9 either frozen or fine-tuned. Claim: fine-tuning recovers at
least 5 points.

  python -m experiments.reproduce experiments/transfer/finetune_recovers.py
"""

from experiments.transfer import common
from experiments.transfer import study


def get_config(arg: str = ''):
  if arg == 'full':
    return common.full_config()
  return study.target_config(0, 2, 'finetune', 10)


def get_record():
  from experiments.records import Claim
  return common.record(
      claim=Claim(
          statement='fine-tuning the two transferred layers recovers >= 5 of the points that '
                    'freezing them cost',
          setting='digits 0-4 -> 5-9 (scikit-learn 8x8), MLP 64-64-64, 10 labels per class, '
                  '600 Adam steps; accuracy(fine-tuned 2) - accuracy(frozen 2)',
          metric='accuracy difference', threshold=0.05, direction='>=', seeds=(0, 1, 2),
          measure=common.difference(('finetune', 2), ('frozen', 2), 10), minutes=4.0))
