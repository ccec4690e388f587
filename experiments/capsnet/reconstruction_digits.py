"""The reconstruction decoder: does it reconstruct digits from the predicted class capsule alone?

Sabour, Frosst & Hinton 2017, Section 4.1 and Figures 3-4: a decoder (Dense 512-1024-784, sigmoid)
reconstructs the input from the 16-D capsule of one class (the true class while training, the
predicted one at test time); its sum-squared error, scaled by 0.0005, regularises the capsules, and
its reconstructions are "robust while keeping only important details". The paper shows pictures,
not an error; our checkable number is the decoder's test MSE per pixel, masked by the prediction,
divided by the MSE of the best input-blind guess (the mean training image). A ratio well below 1
means the one kept capsule carries the image, not only its class. The class-mean image (an oracle
that knows the true label) is printed too, as a harder baseline.

  python -m experiments.reproduce experiments/capsnet/reconstruction_digits.py
"""

from experiments import harness
from experiments.capsnet import capsnet_digits


def get_config(arg: str = ''):
  return capsnet_digits.get_config(arg)


def baseline_mses(data_config):
  """Test MSE per pixel of the mean training image and of the true class's mean training image."""
  import numpy as np
  from train import data
  train = data.ArraySource(data.open_source(data_config, data_config.train_split)).arrays
  test = data.ArraySource(data.open_source(data_config, data_config.eval_split)).arrays
  x_tr, x_te = (data.scale_images({'image': a['image']})['image'] for a in (train, test))
  mean_mse = float(np.mean(np.square(x_te - x_tr.mean(0))))
  class_means = np.stack([x_tr[train['label'] == k].mean(0) for k in range(10)])
  class_mse = float(np.mean(np.square(x_te - class_means[test['label']])))
  return mean_mse, class_mse


def measure(seed, workdir, overrides):
  config = get_config()
  recon = harness.cached_eval(config, seed, workdir, overrides)['recon_mse']
  mean_mse, class_mse = baseline_mses(config.data)
  print(f'    seed {seed}: recon MSE {recon:.5f}, mean-image MSE {mean_mse:.5f}, '
        f'class-mean-image MSE {class_mse:.5f}', flush=True)
  return recon / mean_mse


def get_record():
  from experiments.records import Claim, Paper, Record
  return Record(
      paper=Paper('Sabour, Frosst & Hinton', 2017, 'Dynamic Routing Between Capsules',
                  'https://arxiv.org/abs/1710.09829', 'Section 4.1, Figures 3 and 4'),
      metric='reconstructions from the DigitCaps (pictures)',
      paper_value='qualitative: faithful reconstructions; no error reported',
      paper_setting='MNIST 28x28, decoder 512-1024-784, reconstruction loss weight 0.0005',
      full_hardware='1 GPU or 1 TPU v5e chip (capsnet_digits.py:full writes the pictures)',
      full_time='several hours',
      claim=Claim(
          statement='the decoder reconstructs test digits from the predicted class capsule with '
                    'well under the error of the mean image (calibration: ratio 0.52 at seed 0)',
          setting='digits 8x8, CapsNet `digits` row, r=3, decoder 128-256-64, loss weight '
                  '0.0005 x 784/64 on the sum of squared errors (the paper\'s share of the loss), '
                  '600 Adam steps of batch 64, CPU',
          metric='recon MSE / mean-image MSE', threshold=0.6, direction='<=', seeds=(0, 1, 2),
          measure=measure, minutes=5.0),
  )
