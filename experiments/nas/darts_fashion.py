"""DARTS (Liu, Simonyan & Yang, ICLR 2019) searching on Fashion-MNIST at the paper's settings: the
`full` config of experiments/nas/fashion_evolution_vs_random.py, for a GPU or TPU chip.

The paper's search (Section 3.1.1, A.1.1) moved from CIFAR-10 to Fashion's 28x28 grey images: 8
cells (reductions at 1/3 and 2/3: 28 -> 14 -> 7), 16 initial channels, 4 intermediate nodes, the 8
ops, 50 epochs of half of the training set (the other half trains alpha), batch 64; weights SGD
momentum 0.9, lr 0.025 cosine to 0.001, weight decay 3e-4, gradient clipping 5; alpha Adam lr
3e-4, betas (0.5, 0.999), weight decay 1e-3. First order (the engine's `darts` objective). The
derived genotype is written to plots/architecture.json at each evaluation (models/darts.py).

  python -m train --config experiments/nas/fashion_evolution_vs_random.py:full --workdir DIR
  python -m experiments.reproduce experiments/nas/fashion_evolution_vs_random.py --full

Not a config of its own (no claim): `search_config('full')` is that search, `search_config('tiny')`
a few steps of a 3-cell, 4-channel network for tests.
"""

from experiments import harness
from experiments.fashion import common
from experiments.nas import darts_cifar10


def search_config(arg: str = 'full'):
  c = darts_cifar10.get_config('full' if arg == 'full' else 'tiny')
  c.data.name = 'fashion_mnist'
  c.data.train_split = 'train[:50%]'
  c.data.val_split = 'train[50%:]'
  c.data.cache = True
  if arg == 'full':
    c.num_steps = darts_cifar10._steps(common.TRAIN // 2, darts_cifar10.SEARCH_BATCH,
                                       darts_cifar10.SEARCH_EPOCHS)       # 23450
  elif arg == 'tiny':
    c.data.batch_size = 8
    c.data.eval_batch_size = 8
  else:
    raise harness.unknown_argument(arg, 'full', 'tiny')
  return c
