"""DARTS (Liu, Simonyan & Yang, ICLR 2019) in its convolutional cell space: CPU search on digits,
and the paper's CIFAR-10 search and evaluation for accelerators.

  ''         CPU scale: first-order search of a 3-cell network (normal, reduction, reduction; 8
             channels, 2 intermediate nodes, ops {none, skip, conv 1x1, conv 3x3, max pool,
             avg pool}) on the 8x8 digits, the
             training set split 50/50 into weights / architecture halves. Writes the derived
             genotype (plots/architecture.json) and softmax(alpha) per edge (plots/alpha.png).
  'tiny'     the same, a few steps of a 3-cell, 4-channel network (tests).
  'full'     the paper's search (Section 3.1.1, A.1.1): 8 cells, 16 initial channels, 4
             intermediate nodes, the 8 ops, 50 epochs of half of CIFAR-10's training set (the
             other half trains alpha), batch 64; weights SGD momentum 0.9, lr 0.025 cosine to
             0.001, weight decay 3e-4, gradient clipping 5; alpha Adam lr 3e-4, betas (0.5, 0.999),
             weight decay 1e-3. First order (the engine's `darts` objective; second order is not
             implemented).
  'full_eval' the paper's evaluation (Section 3.2, A.1.2): 20 cells, 36 initial channels, 600
             epochs of all of CIFAR-10's training set, batch 96, SGD momentum 0.9 lr 0.025 cosine,
             weight decay 3e-4, gradient clipping 5, cutout 16 (with crop and flip), drop path
             0.2 (constant here; the paper ramps it linearly from 0), auxiliary head weight 0.4.
             Trains the genotype in models/darts.py `eval_cifar10` (the paper's DARTS (2nd order)
             cell) unless --config.model.genotype names another, e.g. the one a 'full' search wrote.

  python -m train --config experiments/nas/darts_cifar10.py --workdir runs/darts_cells
  python -m train --config experiments/nas/darts_cifar10.py:full --workdir gs://.../search \\
      --config.data.data_dir=gs://.../tensorflow_datasets
  python -m train --config experiments/nas/darts_cifar10.py:full_eval --workdir gs://.../eval \\
      --config.data.data_dir=gs://.../tensorflow_datasets \\
      --config.model.genotype="$(python -c 'import json; print(tuple(json.load(open(
          "plots/architecture.json"))["architecture"]))')"
"""

import ml_collections

from experiments import harness
from train.config import base_config

CIFAR_TRAIN = 50000
SEARCH_EPOCHS, SEARCH_BATCH = 50, 64
EVAL_EPOCHS, EVAL_BATCH = 600, 96
ALPHA_MOVED = 0.05   # the CPU claim's threshold on max |softmax(alpha) - 1/K| (K = 6 ops)


def _steps(examples, batch, epochs):
  return -(-examples // batch) * epochs


def get_config(arg: str = ''):
  c = base_config()
  c.objective = 'darts'
  c.model.name = 'darts'
  c.model.variant = 'cells_small'
  c.data.name = 'nnzoo_digits'
  c.data.train_split = 'train[:50%]'
  c.data.val_split = 'train[50%:]'
  c.data.batch_size = 32
  c.data.eval_batch_size = 360
  c.optimizer.name = 'momentum'
  c.optimizer.momentum = 0.9
  c.optimizer.learning_rate = 0.025
  c.optimizer.schedule = 'cosine'
  c.optimizer.end_factor = 0.001 / 0.025
  c.optimizer.weight_decay = 3e-4
  c.optimizer.clip_norm = 5.0
  c.objective_args.alpha_lr = 3e-3      # the paper's 3e-4 moves alpha too little in 300 steps
  c.objective_args.alpha_b1 = 0.5
  c.objective_args.alpha_b2 = 0.999
  c.objective_args.alpha_weight_decay = 1e-3
  c.num_steps = 300
  c.log_every = 50
  c.eval_every = 0
  c.ckpt_every = 0
  if arg == 'tiny':
    c.model.variant = 'cells_tiny'
    c.num_steps = 4
    c.eval_every = 0
  elif arg == 'full':
    c.model.variant = 'search_cifar10'
    c.data.name = 'cifar10'
    c.data.cache = False
    c.data.batch_size = SEARCH_BATCH
    c.data.eval_batch_size = 500
    c.objective_args.alpha_lr = 3e-4
    c.num_steps = _steps(CIFAR_TRAIN // 2, SEARCH_BATCH, SEARCH_EPOCHS)   # 19550
    c.log_every = 100
    c.eval_every = 2000
    c.ckpt_every = 2000
  elif arg == 'full_eval':
    c.objective = 'classification'
    c.objective_args = ml_collections.ConfigDict({'aux_weight': 0.4})
    c.model.variant = 'eval_cifar10'
    c.data.name = 'cifar10'
    c.data.cache = False
    c.data.train_split = 'train'
    c.data.val_split = ''
    c.data.batch_size = EVAL_BATCH
    c.data.eval_batch_size = 500
    c.optimizer.end_factor = 0.0
    c.num_steps = _steps(CIFAR_TRAIN, EVAL_BATCH, EVAL_EPOCHS)          # 312600
    c.log_every = 100
    c.eval_every = 10000
    c.ckpt_every = 5000
  elif arg:
    raise harness.unknown_argument(arg, '', 'tiny', 'full', 'full_eval')
  return c


def measure(seed, workdir, overrides):
  """The CPU search with this seed: alpha's distance from uniform, with the derived genotype and
  its share of parameter-free ops (none/skip/pool) kept as details."""
  import jax
  import models
  from train.objectives import darts as darts_objective
  config = get_config()
  summary = harness.seeded_run(config, seed, workdir, overrides)
  found = darts_objective.architecture_summary(
      models.build(config.model), jax.device_get(summary['state'].params['alpha']))
  print(f'  seed {seed}: genotype {found["architecture"]}, parameter-free share '
        f'{found["parameter_free_share"]:.2f}, supernet test accuracy '
        f'{summary["eval"]["accuracy"]:.4f}', flush=True)
  details = {k: found[k] for k in ('architecture', 'parameter_free_share', 'alpha_entropy')}
  details['supernet_accuracy'] = summary['eval']['accuracy']
  return summary['eval']['alpha_max_dev'], details


def get_record():
  from experiments.records import Claim, Paper, Record
  return Record(
      paper=Paper('Liu, Simonyan & Yang', 2019, 'DARTS: Differentiable Architecture Search',
                  'https://arxiv.org/abs/1806.09055', 'Table 1 (CIFAR-10)'),
      metric='CIFAR-10 test error (%), cell searched then retrained (mean ± std)',
      paper_value='2.76 ± 0.09 (second order), 3.00 ± 0.14 (first order); random search '
                  'baseline 3.29 ± 0.15; search cost 4 GPU days (second order: 4 runs of 1 day), '
                  '1.5 GPU days (first order), 4 (random search)',
      paper_setting='CIFAR-10; search 8 cells, 16 channels, 4 nodes, 50 epochs, batch 64, 25k/25k '
                    'split; evaluation 20 cells, 36 channels, 600 epochs, batch 96, cutout 16, '
                    'drop path 0.2, auxiliary weight 0.4; 3.3M parameters',
      full_hardware='search: 1 GPU or TPU chip (the paper: one GTX 1080Ti); evaluation: the same',
      full_time='search ~0.5-1 GPU day first order; evaluation ~1.5 GPU days (paper hardware)',
      claim=Claim(
          statement='first-order DARTS in the cell space runs end to end through the engine and '
                    'its architecture weights move away from uniform (the derived genotype and '
                    'alpha per edge are written to the workdir)',
          setting='digits 8x8 (train split 50/50 weights/alpha), 3 cells, 8 channels, 2 nodes, '
                  '6 ops, 300 steps of batch 32, SGD 0.025 cosine (weights), Adam 3e-3 (alpha)',
          metric='max |softmax(alpha) - 1/K| after the search', threshold=ALPHA_MOVED,
          direction='>=', seeds=(0, 1, 2), measure=measure, minutes=9.0),
  )
