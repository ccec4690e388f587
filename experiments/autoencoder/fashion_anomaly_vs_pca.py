"""The one-class autoencoder of fashion_anomaly.py against PCA at the same code size, by the same
protocol: per normal class, PCA with 32 components fitted on that class's train images, every test
image scored by its reconstruction error; the claim is the mean AUROC of the autoencoder minus
PCA's. The runs are the ones fashion_anomaly.py trains (read back at the same commit).

  python -m experiments.reproduce experiments/autoencoder/fashion_anomaly_vs_pca.py
"""

from experiments.autoencoder import measures


def get_config(arg: str = ''):
  return measures.one_class_config(arg)


def measure(seed, workdir, overrides):
  found = measures.one_class_aurocs(get_config, seed, workdir, overrides)
  return found['mean_ae'] - found['mean_pca'], found


def get_record():
  from experiments.records import Claim, Record
  return Record(
      paper=measures.anomaly_paper(),
      metric='Fashion-MNIST one-class AUROC, mean over the ten normal classes',
      paper_value='not retrieved here; PCA is not among the paper\'s baselines',
      paper_setting='Fashion-MNIST, one class as normal at a time, all test images scored',
      full_hardware='1 GPU or TPU chip',
      full_time='~10 min on one accelerator',
      claim=Claim(
          statement='a nonlinear autoencoder detects anomalies at least as well as PCA with the '
                    'same code size',
          setting='as fashion_anomaly.py (dense 784-512-128-32 AE per class, 600 Adam steps), '
                  'against 32-component PCA fitted on the same class\'s train images',
          metric='mean AUROC(AE) - mean AUROC(PCA-32) over the 10 classes', threshold=0.0,
          direction='>=', seeds=(0, 1, 2), measure=measure, minutes=45.0),
  )
