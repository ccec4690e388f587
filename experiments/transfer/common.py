"""What the transfer-learning configs share: the paper, and the differences they measure."""

from experiments.records import Paper
from experiments.transfer import study

PAPER = Paper('Yosinski, Clune, Bengio & Lipson', 2014,
              'How transferable are features in deep neural networks?',
              'https://arxiv.org/abs/1411.1792',
              'Figure 2 (AnB, AnB+ and baseB on ImageNet halves)')
PAPER_SETTING = ('ImageNet split into two 500-class halves A and B, 8-layer convnet; the first n '
                 'layers of a net trained on A copied into a net for B, frozen (AnB) or fine-tuned '
                 '(AnB+)')
PAPER_VALUE = ('qualitative (read off Figure 2): AnB falls as n grows (about 8 points of top-1 at '
               'n=6-7 against baseB), AnB+ recovers it and ends slightly above baseB')
FULL_HARDWARE = 'a TPU v5e-8 slice or 8 GPUs (ImageNet 32x32 via TFDS; not run here)'
FULL_TIME = 'about 2 days per network in the paper (2014 GPUs); hours on a TPU slice'


def record(**fields):
  """The study's Record: Yosinski et al.'s paper, metric and full-scale setting, plus `fields`
  (the claim, and anything else one experiment sets)."""
  from experiments.records import Record
  return Record(paper=PAPER, metric='ImageNet top-1 accuracy (B half)', paper_value=PAPER_VALUE,
                paper_setting=PAPER_SETTING, full_hardware=FULL_HARDWARE, full_time=FULL_TIME,
                **fields)


def difference(first, second, per_class, task='digits', repeats=1):
  """A measure: accuracy(first) - accuracy(second), each (mode, layers), on classes 5-9 of the
  task (study.TASKS). With `repeats` > 1, the mean over that many pairs of target runs (target
  seeds seed*100 + r) on the seed's one pre-trained network: with a few labels per class a single
  pair's difference swings by several points with the target run's seed alone."""
  def measure(seed, workdir, overrides):
    del overrides
    diffs = []
    for r in range(repeats):
      target = seed if repeats == 1 else seed * 100 + r
      a = study.accuracy(seed, first[1], first[0], per_class, workdir, task, target)
      b = study.accuracy(seed, second[1], second[0], per_class, workdir, task, target)
      diffs.append(a - b)
    return float(sum(diffs) / len(diffs))
  return measure


def full_config():
  """For a TPU slice: pre-training half A on TFDS imagenet_resized/32x32 (not run here)."""
  c = study.pretrain_config(0)
  c.data.name = 'imagenet_resized/32x32'
  c.data.cache = False
  c.data.classes = tuple(range(500))
  c.model.name, c.model.variant = 'cnn', 'small'
  with c.model.unlocked():
    c.model.num_classes = 500
    del c.model['hidden']
  c.data.batch_size = 256
  c.num_steps = 450_000
  return c

