"""The model-randomization sanity check of saliency methods on a trained Fashion-MNIST CNN.

Adebayo et al. 2018 (Sanity checks for saliency maps): a map that barely changes when the
model's weights are replaced by random ones explains the input, not the model. Measured as the
mean Spearman rank correlation between each test image's map under the trained weights and under
all weights freshly drawn; integrated gradients is the claim, saliency and SmoothGrad are
reported beside it (per seed in the record's details) with whether each stays below 0.5.

  python -m experiments.reproduce experiments/interpretability/randomization.py
"""

from experiments.interpretability import measures

THRESHOLD = 0.5


def get_config(arg: str = ''):
  return measures.fashion_cnn(arg)


def measure(seed, workdir, overrides):
  found = measures.explained(seed, workdir, overrides)
  found['below_threshold'] = {m: found[f'spearman_{m}'] < THRESHOLD for m in measures.METHODS}
  return found['spearman_integrated_gradients'], found


def get_record():
  from experiments.records import Claim, Paper, Record
  return Record(
      paper=Paper('Adebayo, Gilmer, Muelly, Goodfellow, Hardt & Kim', 2018,
                  'Sanity checks for saliency maps', 'https://arxiv.org/abs/1810.03292',
                  'Section 3 (model parameter randomization test)'),
      metric='Spearman rank correlation of maps, trained vs randomized weights',
      paper_value='gradient and SmoothGrad maps change under randomization; guided backprop and '
                  'guided Grad-CAM barely do (no single number: rank correlations in figures)',
      paper_setting='Inception v4 on ImageNet, and a CNN on MNIST',
      full_hardware='1 GPU or TPU chip', full_time='~2 min',
      claim=Claim(
          statement='integrated gradients\' maps depend on the learned weights: they decorrelate '
                    'from those of the same network with random weights',
          setting='Fashion-MNIST 2-conv CNN (2 epochs), all weights re-drawn, predicted class, '
                  'signed maps, first 1,000 test images, CPU',
          metric='mean Spearman correlation (integrated gradients)', threshold=THRESHOLD,
          direction='<=', seeds=(0, 1, 2), measure=measure, minutes=25.0),
  )
