"""Self-organizing map of the iris flowers (Kohonen 1990), batch map, random initialization.

Kohonen 1990 ("The self-organizing map", Proc. IEEE 78:1464) states no single benchmark number;
the property checked is the one the map is built for: after training, the prototypes quantize the
data far better than the random map they started from (quantization error), while neighbouring
units keep neighbouring prototypes (topographic error, reported). Inputs are standardized with the
training set's mean and standard deviation. `:pca` uses Kohonen's linear (PCA) initialization and a
wider final neighbourhood: experiments/som/som_iris_topology.py checks that it keeps the
topographic error under 0.1.

  python -m train --config experiments/som/som_iris.py --workdir runs/som_iris
  python -m experiments.reproduce experiments/som/som_iris.py
"""

from experiments import harness
from train.config import base_config


def get_config(arg: str = ''):
  c = base_config()
  c.objective = 'som'
  c.model.name = 'som'
  c.model.variant = 'iris'
  c.data.name = 'nnzoo_iris'
  c.data.batch_size = 120          # the whole training split: the classic batch map
  c.data.eval_split = 'train'      # QE and TE of the data the map organizes
  c.data.eval_batch_size = 32
  c.num_steps = 50
  c.log_every = 5
  c.eval_every = 0
  c.ckpt_every = 0
  c.objective_args.input_key = 'features'
  c.objective_args.variant = 'batch'
  c.objective_args.init = 'random'
  c.objective_args.standardize = True
  c.objective_args.radius_start = 5.0
  c.objective_args.radius_end = 0.5
  if arg == 'pca':
    c.objective_args.init = 'pca'
    c.objective_args.radius_start = 3.0
    c.objective_args.radius_end = 1.5
  elif arg == 'online':
    c.objective_args.variant = 'online'
    c.data.batch_size = 8
    c.num_steps = 600              # 40 passes over the 120 flowers
    c.log_every = 50
  elif arg == 'tiny':
    c.model.variant = 'tiny'
    c.num_steps = 5
    c.log_every = 1
  elif arg == 'full':  # the same map; iris is its own full scale (TFDS `iris` works too)
    pass
  elif arg:
    raise harness.unknown_argument(arg, '', 'pca', 'online', 'tiny', 'full')
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
      full_hardware='any CPU',
      full_time='seconds',
      claim=Claim(
          statement='competitive learning without gradients quantizes the data: trained QE is at '
                    'most 0.3 x the untrained (random) map\'s',
          setting='iris standardized, 120 train / 30 test, 6x10 map, batch map on the whole train '
                  'split, 50 steps, radius 5 -> 0.5, random init in the data\'s bounding box',
          metric='QE(trained) / QE(untrained) on the training flowers', threshold=0.3,
          direction='<=',
          seeds=(0, 1, 2), measure=measure, minutes=0.5),
  )
