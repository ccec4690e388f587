"""What the Fashion-MNIST configs share: the data, the benchmark table they compare with, a recipe.

Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 60,000 train / 10,000 test 28x28 grey images of 10
clothing classes, read as TFDS's own `fashion_mnist` (built offline from Debian's
`dataset-fashion-mnist`, see README "Data"). The numbers we compare with are rows of the benchmark
table in the data set's README: contributed results, not tested by its authors (the table says so),
each with the submitter's code. Every claim here trains on all 60k with a fixed recipe (fixed
epochs, no early stopping, no selection) and reports the test split at the end.
"""

from experiments import harness
from experiments.records import Paper
from train.config import base_config

PAPER = Paper('Xiao, Rasul & Vollgraf', 2017,
              'Fashion-MNIST: a novel image dataset for benchmarking machine learning algorithms',
              'https://arxiv.org/abs/1708.07747',
              'benchmark table of github.com/zalandoresearch/fashion-mnist (README, "Benchmark": '
              'contributed, untested results)')
METRIC = 'Fashion-MNIST test accuracy'
TRAIN = 60_000
MEAN, STD = (0.2860,), (0.3530,)      # train pixels / 255, as the data set's README gives them
FULL_HARDWARE = '1 GPU or TPU chip'


def steps(epochs: float, batch: int) -> int:
  """Optimizer steps of `epochs` passes at `batch`, the last partial batch of each dropped (as the
  PyTorch reference does: 468 steps an epoch at 128)."""
  return int(round(epochs * (TRAIN // batch)))


def base(epochs: float = 6, batch: int = 128):
  """Adam 1e-3, constant rate, pixels / 255, eval on the test split after every epoch."""
  c = base_config()
  c.data.name = 'fashion_mnist'
  c.data.batch_size = batch
  c.data.eval_batch_size = 1000
  c.optimizer.name = 'adam'
  c.optimizer.learning_rate = 1e-3
  c.num_steps = steps(epochs, batch)
  c.log_every = 100
  c.eval_every = TRAIN // batch       # one eval an epoch: accuracy per epoch, as PyTorch's
  c.ckpt_every = TRAIN // batch
  return c


def tiny(c):
  """A few steps of the same config, for a quick look (and the one-step test)."""
  c.num_steps = 5
  c.eval_every = 0
  c.ckpt_every = 0
  c.plots = False
  return c


def check_arg(arg: str, *known: str):
  if arg not in ('', 'tiny', 'full') + known:
    raise harness.unknown_argument(arg, '', 'tiny', 'full', *known)


def record(paper_value: str, paper_setting: str, claim, full_time: str, paper_number: float,
           notes: str = ''):
  """The Record of a config compared with one row of the table (`paper_number`: its accuracy)."""
  from experiments.records import Record
  return Record(paper=PAPER, metric=METRIC, paper_value=paper_value, paper_setting=paper_setting,
                full_hardware=FULL_HARDWARE, full_time=full_time, claim=claim, notes=notes,
                paper_number=paper_number)
