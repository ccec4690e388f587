"""Denoising autoencoder (Vincent, Larochelle, Bengio & Manzagol 2008) against a plain autoencoder,
both asked to reconstruct clean digits from inputs with 25% of the pixels zeroed.

Vincent et al. 2008 ("Extracting and composing robust features with denoising autoencoders", ICML,
Section 2.3, Table 1) train on masked inputs (a fraction of the pixels "destroyed" to 0) and score
the reconstruction against the clean input; the paper's headline numbers are test errors of
classifiers built from stacked DAE features (Table 1, mnist-basic: SdA-3 2.80% against 3.46% for the
same stack of plain autoencoders, SAA-3). Here the direct property: given the same 25%-masked test
digits (one fixed mask), the DAE's reconstruction of the clean digits has a lower MSE than that of
the same network trained without corruption.

  python -m train --config experiments/autoencoder/denoising.py --workdir runs/dae
  python -m train --config experiments/autoencoder/denoising.py:plain --workdir runs/ae_plain
  python -m experiments.reproduce experiments/autoencoder/denoising.py
"""

from experiments import harness
from train.config import base_config

MASKED = 0.25


def get_config(arg: str = ''):
  c = base_config()
  c.objective = 'reconstruction'
  c.model.name = 'autoencoder'
  c.model.variant = 'digits'
  c.model.code = 32
  c.data.name = 'nnzoo_digits'
  c.data.batch_size = 128
  c.data.eval_batch_size = 360
  c.optimizer.name = 'adam'
  c.optimizer.learning_rate = 1e-3
  c.optimizer.schedule = 'cosine'
  c.num_steps = 3000
  c.log_every = 100
  c.eval_every = 1000
  c.ckpt_every = 3000
  c.objective_args.corruption = 'mask'
  c.objective_args.corruption_level = MASKED
  c.objective_args.eval_corruption = 'mask'
  c.objective_args.eval_corruption_level = MASKED
  if arg == 'plain':  # the same network trained on clean inputs, scored on the same masked ones
    c.objective_args.corruption = 'none'
  elif arg == 'tiny':
    c.model.variant = 'tiny'
    c.data.batch_size = 64
    c.num_steps = 20
    c.eval_every = 0
    c.ckpt_every = 0
  elif arg == 'full':  # Vincent et al. 2008: one 784-2000 DAE layer on MNIST, 25% masking
    c.model.variant = 'tiny'
    c.model.hidden = ()
    c.model.code = 2000
    c.model.activation = 'sigmoid'
    c.data.name = 'mnist'
    c.data.cache = False
    c.data.eval_batch_size = 1000
    c.optimizer.name = 'sgd'
    c.optimizer.learning_rate = 0.1
    c.num_steps = 47000   # 100 epochs of 60k at batch 128
    c.eval_every = 5000
    c.ckpt_every = 5000
  elif arg:
    raise harness.unknown_argument(arg, '', 'plain', 'tiny', 'full')
  return c


def measure(seed, workdir, overrides):
  """MSE(DAE) / MSE(plain AE) on the same masked test digits, scored against the clean ones."""
  mse = {}
  for arg in ('', 'plain'):
    config = get_config(arg)
    summary = harness.seeded_run(config, seed, workdir / (arg or 'denoising'), overrides)
    mse[arg or 'denoising'] = summary['eval']['mse']
  print(f'    seed {seed}: MSE(DAE) {mse["denoising"]:.5f}, MSE(AE) {mse["plain"]:.5f}', flush=True)
  return mse['denoising'] / mse['plain']


def get_record():
  from experiments.records import Claim, Paper, Record
  return Record(
      paper=Paper('Vincent, Larochelle, Bengio & Manzagol', 2008,
                  'Extracting and composing robust features with denoising autoencoders',
                  'https://doi.org/10.1145/1390156.1390294', 'Section 3 and Table 1'),
      metric='mnist-basic test classification error of stacked (denoising) autoencoders (%)',
      paper_value='2.80 ± 0.14 (SdA-3) vs 3.46 ± 0.16 (SAA-3, no corruption)',
      paper_setting='mnist-basic (10k train / 2k valid / 50k test), 3 stacked layers, masking '
                    'noise fraction chosen on validation (up to 25%), supervised fine-tuning',
      full_hardware='1 TPU v5e chip or 1 GPU',
      full_time='~10 min on one accelerator (one DAE layer, reconstruction only)',
      claim=Claim(
          statement='a denoising autoencoder recovers clean inputs from masked ones better than '
                    'the same autoencoder trained without corruption',
          setting='digits 8x8, 1437 train / 360 test, 64-256-128-32 ReLU AE, 3000 Adam steps, '
                  'train masking 25% (DAE) or none (AE), both scored on the same 25%-masked test '
                  'digits against the clean ones',
          metric='test MSE(DAE) / MSE(AE)', threshold=0.8, direction='<=', seeds=(0, 1, 2),
          measure=measure, minutes=3.0),
  )
