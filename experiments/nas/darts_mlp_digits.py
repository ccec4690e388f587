"""First-order DARTS (Liu, Simonyan & Yang 2019) on the study's 1000-architecture MLP space, digits.

Search: `SuperMLP` (models/darts.py), each of the 3 layers a softmax-weighted mixture of the 10
ops of models/nas_mlp.py (absent = identity, Dense 16/32/64 x relu/tanh/sigmoid), trained by the
`darts` objective: per step one Adam step of the architecture weights alpha on a batch of the
held-out half of the training set ('train[50%:]', the engine's val stream) and one step of the
weights on a batch of the other half. Adam for the weights rather than the paper's SGD 0.025: on
this MLP, SGD 0.025 for 600 steps left the supernet at chance (15% test accuracy, calibration).
Alpha's Adam lr is 3e-3 instead of 3e-4: in that calibration run the paper's 3e-4 moved alpha by
only 0.02 (max |p - 1/K|) in 600 steps, and this search is 1000 steps, not 50 epochs.
Discretize: argmax of alpha per layer -> an arch tuple; retrain it from scratch as
`nas_mlp.SpaceMLP` through the engine exactly as the table's entries were trained, for the
table's largest budget (270 steps).

The claim (per seed): alpha moved away from uniform (max |softmax(alpha) - 1/10| >= ALPHA_MOVED),
the derived architecture is a valid member of the space, and its retrained test accuracy is at
least the median test accuracy of the study's tabular benchmark (experiments/nas/table.py) at that
budget. The measured number is retrained accuracy minus that median (threshold 0); a seed whose
alpha did not move or whose architecture is invalid scores -1. Each seed's architecture, its share
of parameter-free ops (here: 'absent' layers; DARTS is known to drift toward parameter-free ops)
and alpha's statistics are printed, written to the seed's workdir as darts.json, and kept per seed
under 'details' in the recorded results/darts_mlp_digits.json (experiments/nas/measures.py).

  python -m train --config experiments/nas/darts_mlp_digits.py --workdir runs/darts_mlp
  python -m experiments.reproduce experiments/nas/darts_mlp_digits.py
"""

from experiments import harness
from experiments.nas import measures
from train.config import base_config

ALPHA_MOVED = 0.1     # max |softmax(alpha) - 1/K| after the search; ~0.002 at initialization
SEARCH_STEPS = 1000


def get_config(arg: str = ''):
  """The search run; measures.retrain_config is the retraining run of a derived architecture."""
  c = base_config()
  c.objective = 'darts'
  c.model.name = 'darts'
  c.model.variant = 'mlp'
  c.data.name = 'nnzoo_digits'
  c.data.train_split = 'train[:50%]'     # the paper's 50/50 split of the training set
  c.data.val_split = 'train[50%:]'
  c.data.batch_size = 64
  c.data.eval_batch_size = 360
  c.optimizer.name = 'adam'
  c.optimizer.learning_rate = 3e-3
  c.optimizer.schedule = 'cosine'
  c.objective_args.alpha_lr = 3e-3
  c.objective_args.alpha_b1 = 0.5
  c.objective_args.alpha_b2 = 0.999
  c.objective_args.alpha_weight_decay = 1e-3
  c.num_steps = SEARCH_STEPS
  c.log_every = 100
  c.eval_every = 500
  c.ckpt_every = 0
  if arg == 'tiny':
    c.num_steps = 20
    c.eval_every = 0
  elif arg not in ('', 'full'):
    raise harness.unknown_argument(arg, '', 'tiny', note=' ("" is the CPU search)')
  return c


def measure(seed, workdir, overrides):
  """Search, discretize, retrain; retrained accuracy minus the benchmark's median (see above)."""
  return measures.darts_vs_median(get_config(), seed, workdir, overrides, ALPHA_MOVED)


def get_record():
  from experiments.records import Claim, Paper, Record
  return Record(
      paper=Paper('Liu, Simonyan & Yang', 2019, 'DARTS: Differentiable Architecture Search',
                  'https://arxiv.org/abs/1806.09055', 'Section 2, Algorithm 1; Table 1'),
      metric='CIFAR-10 test error (%) of the derived cell (full scale: darts_cifar10.py)',
      paper_value='3.00 ± 0.14 (first order), 2.76 ± 0.09 (second order); '
                  'random search 3.29 ± 0.15',
      paper_setting='CIFAR-10, search 8 cells / 16 channels, 50 epochs; evaluation 20 cells / '
                    '36 channels, 600 epochs, cutout',
      full_hardware='this claim is CPU-scale by nature; the paper-scale run is '
                    'experiments/nas/darts_cifar10.py:full on one GPU / TPU chip',
      full_time='~1 min on 2 CPU cores per seed (search + retraining)',
      full_config_arg='full',
      claim=Claim(
          statement='first-order DARTS moves the architecture weights away from uniform, derives '
                    'a valid architecture, and that architecture retrained from scratch is at '
                    'least as accurate as the median architecture of the space',
          setting=f'digits 8x8, the 1000-architecture MLP space (3 layers x 10 ops), search '
                  f'{SEARCH_STEPS} steps on a 50/50 split of train (batch 64, Adam 3e-3 weights, '
                  f'Adam 3e-3 b1 0.5 alpha); retrain the argmax architecture for the tabular '
                  f'benchmark\'s largest budget; alpha must reach max |p - 1/K| >= {ALPHA_MOVED}',
          metric='retrained test accuracy - table median (-1 if alpha did not move or the '
                 'architecture is invalid)',
          threshold=0.0, direction='>=', seeds=(0, 1, 2), measure=measure, minutes=4.0),
      notes='Per seed the derived architecture and its share of parameter-free ops (absent '
            'layers) are printed by the reproduce command and recorded under "details" in '
            'results/darts_mlp_digits.json.',
  )
