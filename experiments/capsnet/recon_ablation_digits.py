"""Does the reconstruction loss help classification? CapsNet with and without the decoder.

Sabour, Frosst & Hinton 2017, Table 1 (MNIST test error, 3 trials): r=3 without reconstruction
0.35% ± 0.036, with reconstruction 0.25% ± 0.005 (r=1: 0.34 ± 0.032 vs 0.29 ± 0.011): the decoder
acts as a regulariser. We train the `digits` CapsNet (r=3) with the decoder and the paper's share of
reconstruction loss, and without any decoder, from the same seed, and report
acc(reconstruction) - acc(none) per seed.

  python -m experiments.reproduce experiments/capsnet/recon_ablation_digits.py
"""

from experiments import harness
from experiments.capsnet import capsnet_digits


def get_config(arg: str = ''):
  """The arm without a decoder (the other arm is capsnet_digits.py)."""
  c = capsnet_digits.get_config(arg)
  c.model.reconstruct = False
  return c


def measure(seed, workdir, overrides):
  return harness.compare(capsnet_digits.get_config(), get_config(), 'accuracy', seed,
                                workdir, overrides, names=('recon', 'none'))


def get_record():
  from experiments.records import Claim, Paper, Record
  return Record(
      paper=Paper('Sabour, Frosst & Hinton', 2017, 'Dynamic Routing Between Capsules',
                  'https://arxiv.org/abs/1710.09829', 'Table 1'),
      metric='MNIST test error (%), r=3, without vs with reconstruction',
      paper_value='0.35 ± 0.036 (no reconstruction) vs 0.25 ± 0.005 (reconstruction)',
      paper_setting='MNIST 28x28 shifted by up to 2 px, 8.2M-parameter CapsNet, 3 trials each',
      full_hardware='1 GPU or 1 TPU v5e chip (capsnet_digits.py:full with and without '
                    '--config.model.reconstruct=False)',
      full_time='several hours per arm',
      claim=Claim(
          statement='the reconstruction loss does not raise digit accuracy by more than the seed '
                    'noise: mean of acc(recon) - acc(none) over seeds is at most +1 point',
          setting='digits 8x8, CapsNet `digits` row, r=3, recon weight 0.0005*784/64 vs no '
                  'decoder, 600 Adam steps of batch 64, same seed for both arms, CPU',
          metric='acc(recon) - acc(none)', threshold=0.01, direction='<=', seeds=(0, 1, 2),
          measure=measure, minutes=10.0),
  )
