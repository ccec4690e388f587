"""Transfer plus fine-tuning does not hurt (Yosinski et al. 2014, Figure 2: AnB+ against baseB),
on Fashion-MNIST halves A = 0-4 and B = 5-9 (experiments/transfer/figure2.py).

For n = 1..4 the first n layers of a CNN trained on A are copied into a net for B and fine-tuned
with the rest (AnB+); baseB is the same net trained on B from scratch with the same recipe. Claim:
AnB+ >= baseB - 0.005 at every n, i.e. the smallest of the four differences AnB+(n) - baseB is
>= -0.005. The claim's measure trains every arm of the paper's Figure 2 (baseB, BnB, BnB+, AnB,
AnB+ at every n: 2 source nets + 16 arms a seed), which the other two Fashion transfer claims read
back at the same commit (harness.cached_run / cached_eval), and redraws the figure from our
numbers into the claim's workdir (figure2.png, from each seed's seed<N>/figure2_arms.json).

Time (estimated from a 10- vs 40-step timing of the source config, on the 2-core host with three
other runs beside it: 24 ms a step, 14 s a run for data, compile, eval and checkpoint): 18 runs of
1404 steps a seed, about 14 min a seed, 45 min for three. The threshold is the study's; a seed-0
calibration run is still to be made.

  python -m experiments.reproduce experiments/transfer/fashion_finetune_no_harm.py
  python -m experiments.transfer.figure2 --workdir runs/fashion_figure2   # all arms and the figure
"""

from experiments.transfer import common
from experiments.transfer import figure2


def get_config(arg: str = ''):
  return figure2.claim_config(arg)


def measure(seed, workdir, overrides):
  found = figure2.arms(seed, workdir, overrides)
  figure2.write_figure(seed, workdir, found)
  gaps = [a - found['baseB'] for a in found['AnB+']]
  return min(gaps), {**found, 'AnB+ - baseB': gaps}


def get_record():
  from experiments.records import Claim
  return common.record(
      notes=figure2.NOTE,
      claim=Claim(
          statement='transfer plus fine-tuning does not hurt: with the first n layers copied from '
                    'a net trained on A and fine-tuned (AnB+), the net for B is within 0.005 of '
                    'baseB or above it at every n = 1..4',
          setting=figure2.setting('min over n = 1..4 of AnB+(n) - baseB'),
          metric='min over n of accuracy(AnB+) - accuracy(baseB)', threshold=-0.005,
          direction='>=', seeds=(0, 1, 2), measure=measure, minutes=45.0))
