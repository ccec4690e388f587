"""Self-organizing map of the 8x8 handwritten digits (Kohonen 1990), mini-batch batch map.

The 64-pixel digits on a 12 x 16 sheet: the map's hit map with majority labels shows the classes
as contiguous regions without any label being used in training. The claim is quantization: the
trained map's QE on the training digits (the data the map describes) is at most 0.7 x that of the
random map it started from. With 1437 digits the batch map runs on mini-batches of 128: each step
moves the prototypes part of the way (rate 0.5 -> 0.05) to the batch map's estimate.

  python -m train --config experiments/som/som_digits.py --workdir runs/som_digits
  python -m experiments.reproduce experiments/som/som_digits.py
"""

from experiments import harness
from train.config import base_config


def get_config(arg: str = ''):
  c = base_config()
  c.objective = 'som'
  c.model.name = 'som'
  c.model.variant = 'digits'
  c.data.name = 'nnzoo_digits'
  c.data.eval_split = 'train'      # QE and TE of the data the map organizes
  c.data.batch_size = 128
  c.data.eval_batch_size = 512
  c.num_steps = 300
  c.log_every = 25
  c.eval_every = 0
  c.ckpt_every = 0
  c.objective_args.input_key = 'image'
  c.objective_args.variant = 'batch'
  c.objective_args.init = 'random'
  c.objective_args.radius_start = 8.0
  c.objective_args.radius_end = 0.75
  c.objective_args.rate_start = 0.5
  c.objective_args.rate_end = 0.05
  if arg == 'pca':
    c.objective_args.init = 'pca'
    c.objective_args.radius_start = 4.0
    c.objective_args.radius_end = 1.5
  elif arg == 'tiny':
    c.model.variant = 'tiny'
    c.num_steps = 5
    c.log_every = 1
  elif arg == 'full':  # MNIST on a 20 x 20 sheet (TFDS mnist)
    c.model.variant = 'kohonen10x10'
    c.model.rows, c.model.cols = 20, 20
    c.data.name = 'mnist'
    c.data.cache = False
    c.data.eval_split = 'test'
    c.data.batch_size = 1024
    c.data.eval_batch_size = 1000
    c.num_steps = 3000
    c.objective_args.radius_start = 10.0
  elif arg:
    raise harness.unknown_argument(arg, '', 'pca', 'tiny', 'full')
  return c


def measure(seed, workdir, overrides):
  from experiments.som import measures
  return measures.qe_ratio(get_config, seed, workdir, overrides)


def get_record():
  from experiments.records import Claim, Paper, Record
  return Record(
      paper=Paper('Kohonen', 1990, 'The self-organizing map',
                  'https://doi.org/10.1109/5.58325', 'Sections II-III (batch map: Kohonen 1993)'),
      metric='qualitative: ordered maps that quantize the input distribution',
      paper_value='no single number (maps shown in figures)',
      paper_setting='2-D sheets of units, Gaussian neighbourhood shrinking over training',
      full_hardware='1 TPU v5e chip or 1 GPU (MNIST, 20x20 sheet)',
      full_time='~1 min on one accelerator',
      claim=Claim(
          statement='competitive learning without gradients quantizes 64-d digit images: trained '
                    'QE is at most 0.7 x the untrained (random) map\'s',
          setting='digits 8x8 (1437 train, scored on them), 12x16 map, mini-batch batch map, '
                  'batch 128, 300 steps, radius 8 -> 0.75, rate 0.5 -> 0.05, random init',
          metric='QE(trained) / QE(untrained)', threshold=0.7, direction='<=',
          seeds=(0, 1, 2), measure=measure, minutes=1.0),
  )
