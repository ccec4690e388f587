"""One-class anomaly detection with an autoencoder on Fashion-MNIST (the seed's use of
autoencoders), by the protocol of Ruff et al. 2018 (Deep SVDD) that Golan & El-Yaniv 2018 report per
Fashion-MNIST class: train on the train images of one class only, score every test image by its
reconstruction error, and measure the AUROC of that class (normal) against the other nine
(anomalous); the claim is the mean over the ten classes.

  python -m train --config experiments/autoencoder/fashion_anomaly.py:3 --workdir runs/anomaly3
  python -m experiments.reproduce experiments/autoencoder/fashion_anomaly.py

Each seed writes `anomalies.png` into its workdir: per class, the test images it finds least
and most anomalous. experiments/autoencoder/fashion_anomaly_vs_pca.py compares the same runs with
PCA at the same code size.
"""

from experiments.autoencoder import measures

# No published Fashion-MNIST number for this protocol and model, so calibrated: seed 0 alone
# (python -m experiments.reproduce experiments/autoencoder/fashion_anomaly_vs_pca.py --seeds 0, at
# commit 15fbec1 plus this study's files, uncommitted) gave a mean AUROC of 0.9122 (per class
# 0.9105 0.9893 0.8861 0.9301 0.9068 0.8806 0.8231 0.9841 0.8351 0.9768); the threshold was set
# to 0.905 before seeds 1 and 2 ran: 0.007 under seed 0, and at PCA-32's 0.9051 by the same
# protocol.
THRESHOLD = 0.905


def get_config(arg: str = ''):
  return measures.one_class_config(arg)


def measure(seed, workdir, overrides):
  found = measures.one_class_aurocs(get_config, seed, workdir, overrides)
  return found['mean_ae'], found


def get_record():
  from experiments.records import Claim, Record
  return Record(
      paper=measures.anomaly_paper(),
      metric='Fashion-MNIST one-class AUROC, mean over the ten normal classes',
      paper_value='not retrieved here (the per-class table could not be read through this '
                  'workplace\'s search); the paper reports its method and baselines such as '
                  'one-class SVMs on raw pixels and on convolutional-autoencoder features',
      paper_setting='Fashion-MNIST, one class as normal at a time, all test images scored',
      full_hardware='1 GPU or TPU chip',
      full_time='~10 min on one accelerator (10 classes x 50 passes over 6,000 images)',
      claim=Claim(
          statement='an autoencoder trained on one class only scores the other classes\' test '
                    'images as anomalous (high reconstruction error)',
          setting='Fashion-MNIST 28x28, per class: 6,000 train images of that class, dense '
                  '784-512-128-32 ReLU AE with mirrored decoder, 600 Adam steps of batch 128 '
                  '(cosine), all 10,000 test images scored by squared error; 10 runs a seed, CPU',
          metric='mean one-class test AUROC over the 10 classes', threshold=THRESHOLD,
          direction='>=', seeds=(0, 1, 2), measure=measure, minutes=45.0),
  )
