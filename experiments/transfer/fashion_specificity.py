"""Upper-layer specificity (Yosinski et al. 2014, Figure 2: AnB against BnB at the top layer), on
Fashion-MNIST halves A = 0-4 and B = 5-9 (experiments/transfer/figure2.py).

With all L = 4 layers before the head copied and frozen, only a new head trains on B: on the
features of the net trained on B (BnB) it recovers baseB, on those of the net trained on A (AnB) it
can only use what A's top layers kept. Claim: AnB at n = 4 is below BnB at n = 4 by >= 0.01.

Shares its runs with fashion_finetune_no_harm.py (which trains every arm): after that claim at the
same commit this one reads them back. Time alone (estimated from a short timing of the source
config on the busy 2-core host: 24 ms a step, 14 s a run besides): 2 source nets + 2 arms of 1404
steps a seed, about 10 min for three seeds. The threshold is the study's; a seed-0 calibration run
is still to be made.

  python -m experiments.reproduce experiments/transfer/fashion_specificity.py
"""

from experiments.transfer import common
from experiments.transfer import figure2


def get_config(arg: str = ''):
  return figure2.claim_config(arg)


def measure(seed, workdir, overrides):
  top = len(figure2.LAYERS)
  found = {arm: figure2.arm_accuracy(arm, top, seed, workdir, overrides) for arm in ('BnB', 'AnB')}
  print(f'    seed {seed}: n={top}: BnB {found["BnB"]:.4f}, AnB {found["AnB"]:.4f}', flush=True)
  return found['BnB'] - found['AnB'], found


def get_record():
  from experiments.records import Claim
  return common.record(
      notes=figure2.NOTE,
      claim=Claim(
          statement='upper layers are specific to their task: with all 4 layers before the head '
                    'copied and frozen, those of the net trained on A (AnB) leave the net for B '
                    '>= 0.01 below those of the net trained on B (BnB)',
          setting=figure2.setting(f'BnB(n={len(figure2.LAYERS)}) - AnB(n={len(figure2.LAYERS)})'),
          metric='accuracy(BnB, n=4) - accuracy(AnB, n=4)', threshold=0.01, direction='>=',
          seeds=(0, 1, 2), measure=measure, minutes=10.0))
