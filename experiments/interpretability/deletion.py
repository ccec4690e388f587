"""Pixel-flipping (deletion) with integrated gradients on a trained Fashion-MNIST CNN.

Samek, Binder, Montavon, Lapuschkin & Mueller 2017 (Evaluating the visualization of what a deep
neural network has learned): removing the most relevant pixels first should destroy the
decision much faster than removing random ones. Here: each test image's 10% most attributed
pixels (integrated gradients, predicted class) set to black against 10% random pixels; the claim
is the extra drop in test accuracy, in points.

  python -m experiments.reproduce experiments/interpretability/deletion.py
"""

from experiments.interpretability import measures


def get_config(arg: str = ''):
  return measures.fashion_cnn(arg)


def measure(seed, workdir, overrides):
  found = measures.explained(seed, workdir, overrides)
  return found['deletion_extra_drop_points_integrated_gradients'], found


def get_record():
  from experiments.records import Claim, Paper, Record
  return Record(
      paper=Paper('Samek, Binder, Montavon, Lapuschkin & Mueller', 2017,
                  'Evaluating the visualization of what a deep neural network has learned',
                  'https://arxiv.org/abs/1509.06321', 'Section III (region perturbation, AOPC)'),
      metric='AOPC: decrease of the class score as the most relevant regions are perturbed first',
      paper_value='relevance-ordered perturbation destroys the score faster than random order',
      paper_setting='ImageNet, SUN397 and MNIST classifiers, 9x9 regions',
      full_hardware='1 GPU or TPU chip', full_time='~2 min',
      claim=Claim(
          statement='the pixels integrated gradients marks most relevant matter to the '
                    'classifier: blacking them out costs far more accuracy than random pixels',
          setting='Fashion-MNIST 2-conv CNN (2 epochs), 10% of pixels (78) per image set to black, '
                  'first 1,000 test images, CPU',
          metric='test accuracy drop, top-attributed minus random (points)', threshold=10.0,
          direction='>=', seeds=(0, 1, 2), measure=measure, minutes=25.0),
  )
