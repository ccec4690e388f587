"""ResNet-18 (He, Zhang, Ren & Sun 2016) on Fashion-MNIST with the benchmark row's augmentation.

Model: models/resnet.py, post-activation basic blocks [2, 2, 2, 2], a 3x3 stride-1 stem without
max-pool for 28x28 inputs, batch norm (its statistics in the engine's model state). CPU claim:
quarter width (16-32-64-128, 0.70M parameters). Data: normalization (mean 0.2860, std 0.3530),
random horizontal and vertical flips, translation by up to 2 px, rotation by up to 10 degrees
(train/augment.py; the row names these steps, not their sizes). Recipe: SGD with Nesterov
momentum 0.9, rate 0.1, weight decay 5e-4 (as L2 on the gradient), one epoch of warm-up then
cosine, batch 128, 8 epochs. AdamW 2e-3 reached 0.9013 in 6 epochs and 0.9084 in 8 (seed 0); over
2 epochs the SGD recipe led it 0.8823 to 0.8779, so the claim uses SGD.

  python -m train --config experiments/fashion/resnet18.py --workdir runs/fashion_resnet18
  python -m experiments.reproduce experiments/fashion/resnet18.py

`full`: full width (11.2M parameters), 60 epochs, for an accelerator. `wrn28_10`: WRN-28-10
(Zagoruyko & Komodakis 2016; the table's 0.959 row: mean/std, random crops and horizontal flips;
SGD 0.1 momentum 0.9 Nesterov, weight decay 5e-4, batch 128, 200 epochs, rate x0.2 at 60/120/160
in the paper; here one cosine decay), full scale only.
"""

from experiments.fashion import common

AUGMENT = ('random_crop(pad=2)', 'flip_left_right()', 'flip_up_down()', 'rotate(degrees=10)')


def get_config(arg: str = ''):
  common.check_arg(arg, 'wrn28_10')
  c = common.base(epochs=8, batch=128)
  c.model.name = 'resnet'
  c.model.variant = 'resnet18_quarter'
  c.data.augment = AUGMENT
  c.data.mean, c.data.std = common.MEAN, common.STD
  c.optimizer.name = 'nesterov'
  c.optimizer.learning_rate = 0.1
  c.optimizer.momentum = 0.9
  c.optimizer.weight_decay = 5e-4
  c.optimizer.schedule = 'warmup_cosine'
  c.optimizer.warmup_steps = common.TRAIN // 128
  if arg == 'tiny':
    c.model.variant = 'tiny'
    common.tiny(c)
  elif arg == 'full':
    c.model.variant = 'resnet18'
    c.num_steps = common.steps(60, 128)
    c.eval_every = c.ckpt_every = 5 * (common.TRAIN // 128)
  elif arg == 'wrn28_10':
    c.model.variant = 'wrn28_10'
    c.data.augment = ('random_crop(pad=4)', 'flip_left_right()')
    c.optimizer.name = 'nesterov'
    c.optimizer.learning_rate = 0.1
    c.optimizer.momentum = 0.9
    c.optimizer.weight_decay = 5e-4
    c.optimizer.schedule = 'cosine'
    c.optimizer.warmup_steps = 0
    c.num_steps = common.steps(200, 128)
    c.eval_every = c.ckpt_every = 10 * (common.TRAIN // 128)
  return c


def get_record():
  from experiments.records import Claim
  return common.record(
      paper_value='0.949 ("ResNet18", normalization, random horizontal and vertical flips, '
                  'translation and rotation)',
      paper_setting='ResNet-18 at full width with the augmentation above (the submitter\'s code)',
      paper_number=0.949,
      full_time='~1 h',
      claim=Claim(
          statement='a quarter-width ResNet-18 with the row\'s augmentation gets within a few '
                    'points of the row in 8 epochs',
          setting='all 60k train, test 10k; mean/std normalization, h/v flips, shift <= 2 px, '
                  'rotation <= 10 deg; ResNet-18 at 16-32-64-128; SGD Nesterov 0.1, momentum 0.9, '
                  'weight decay 5e-4, warm-up + cosine, batch 128, 8 epochs (3744 steps)',
          metric='test accuracy', threshold=0.91, direction='>=', seeds=(0, 1, 2),
          minutes=60.0))
