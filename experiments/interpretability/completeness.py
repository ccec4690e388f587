"""Integrated gradients' completeness axiom on a trained Fashion-MNIST CNN.

Sundararajan, Taly & Yan 2017 (Axiomatic attribution for deep networks): the attributions of
integrated gradients add up to f(x) - f(baseline). With a finite number of path points the sum
is a Riemann approximation; the paper suggests 20-300 steps to get within 5%. Checked here with 64
midpoint steps from the black image, for the predicted class's logit, on 1,000 test images.

  python -m train --config experiments/interpretability/completeness.py --workdir runs/fcnn
  python -m train.explain --workdir runs/fcnn --method integrated_gradients
  python -m experiments.reproduce experiments/interpretability/completeness.py
"""

from experiments.interpretability import measures


def get_config(arg: str = ''):
  return measures.fashion_cnn(arg)


def measure(seed, workdir, overrides):
  found = measures.explained(seed, workdir, overrides)
  return found['completeness_error'], found


def get_record():
  from experiments.records import Claim, Paper, Record
  return Record(
      paper=Paper('Sundararajan, Taly & Yan', 2017, 'Axiomatic attribution for deep networks',
                  'https://arxiv.org/abs/1703.01365',
                  'Proposition 1 (completeness) and the advice on the number of steps'),
      metric='|sum of attributions - (F(x) - F(baseline))| relative to F(x) - F(baseline)',
      paper_value='within 5% with 20 to 300 path steps (the paper\'s advice)',
      paper_setting='Inception, ImageNet and other models; black baseline for images',
      full_hardware='1 GPU or TPU chip', full_time='~2 min (6 epochs, then 3 methods)',
      claim=Claim(
          statement='integrated gradients\' attributions sum to the change of the explained logit '
                    'between the black image and the input (completeness)',
          setting='Fashion-MNIST 2-conv CNN (experiments/fashion/cnn2.py\'s net and recipe, 2 '
                  'epochs), predicted class\'s logit, 64 midpoint steps from black, first 1,000 '
                  'test images, CPU',
          metric='mean relative completeness error', threshold=0.01, direction='<=',
          seeds=(0, 1, 2), measure=measure, minutes=25.0),
  )
