"""Where pre-training does beat training from scratch: shifted digits, one label per class.

On the plain 8x8 digits, features pre-trained on 0-4 never beat a 5-9 net trained from scratch
(see pretraining_vs_scratch.py: at 1, 2, 5, 10 and 50 labels per class). Make the target harder
than its labels can teach and the picture turns, as Yosinski et al. found on ImageNet: the same
digits upsampled onto a 16x16 canvas at random shifts of up to 2 pixels (nnzoo_affine_digits,
shifted train and test splits). With one labelled image per class, a 64-64-64 MLP from scratch
sees each digit at one position only and reaches about 23% on 5-9; the same net whose three hidden
layers were trained on 0-4 (all their shifted images) and kept frozen, with only the new head
trained on the 5 labels (a linear probe), reaches about 42%. The claim: at least 10 points better.

  python -m experiments.reproduce experiments/transfer/pretraining_wins_shifted.py
  python -m train --config experiments/transfer/pretraining_wins_shifted.py:pretrain \\
      --workdir runs/src
  python -m train --config experiments/transfer/pretraining_wins_shifted.py --workdir runs/probe \\
      --config.init_from.workdir=runs/src
"""

from experiments.transfer import common
from experiments.transfer import study

TASK = 'shifted'
LABELS_PER_CLASS = 1
LAYERS = 3


def get_config(arg: str = ''):
  if arg == 'full':
    return common.full_config()
  if arg == 'pretrain':
    return study.pretrain_config(0, TASK)
  # The linear probe: trains from scratch (only the head moves) unless init_from.workdir is set.
  return study.target_config(0, LAYERS, 'frozen', LABELS_PER_CLASS, task=TASK)


def get_record():
  from experiments.records import Claim
  return common.record(
      claim=Claim(
          statement='pre-training does beat training from scratch on a harder target: on shifted '
                    'digits with 1 label per class, the three hidden layers pre-trained on 0-4 and '
                    'frozen beat the same net from scratch by >= 10 points',
          setting='digits on a 16x16 canvas shifted by up to 2 px (nnzoo_affine_digits), 0-4 -> '
                  '5-9, MLP 64-64-64, 1 label per class, 600 Adam steps; accuracy(frozen 3 '
                  'transferred layers) - accuracy(scratch)',
          metric='accuracy difference', threshold=0.10, direction='>=', seeds=(0, 1, 2),
          measure=common.difference(('frozen', LAYERS), ('scratch', 0), LABELS_PER_CLASS, TASK),
          minutes=4.0))
