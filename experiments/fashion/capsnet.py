"""The benchmark table's "Capsule Network 8M" (Sabour, Frosst & Hinton 2017) on Fashion-MNIST.

Model: models/capsnet.py `sabour_mnist`, the paper's 28x28 network: Conv1 256@9x9 -> PrimaryCaps
32x8D 9x9 stride 2 (1152 capsules) -> 10x16D class capsules, 3 routing iterations, decoder
512-1024-784 (8.2M parameters, the row's "8M"). Loss: margin loss + 0.0005 x summed squared
reconstruction error (train/objectives/capsule.py). Data: the row's augmentation, shift by up to
2 px (zero padding) and random horizontal flips (train/augment.py), pixels / 255 and no mean/std
normalization (the decoder's sigmoid output is compared with the input image itself).
Recipe: Adam 1e-3, batch 128; on a CPU one epoch (468 steps) with a cosine decay.

  python -m train --config experiments/fashion/capsnet.py --workdir runs/fashion_capsnet
  python -m experiments.reproduce experiments/fashion/capsnet.py

The table gives no accuracy for our one-epoch budget, so the CPU threshold was calibrated on one run
at seed 0 before the others ran (see the record's notes). `full`: the authors' recipe as the row
uses it, Adam 1e-3 decayed x0.96 per epoch, 50 epochs, for an accelerator.
"""

from experiments.fashion import common

AUGMENT = ('random_crop(pad=2)', 'flip_left_right()')


def get_config(arg: str = ''):
  common.check_arg(arg)
  c = common.base(epochs=1, batch=128)
  c.objective = 'capsule'
  c.objective_args.recon_weight = 0.0005     # the paper's, on a sum over 784 pixels
  c.objective_args.shift = 0                 # shifting is data.augment's random_crop(pad=2)
  c.model.name = 'capsnet'
  c.model.variant = 'sabour_mnist'
  c.model.routing_iterations = 3
  c.model.reconstruct = True
  c.data.augment = AUGMENT
  c.data.eval_batch_size = 500
  c.optimizer.schedule = 'cosine'
  c.log_every = 50
  c.eval_every = c.num_steps                  # one evaluation (10k images through routing: ~1 min)
  c.ckpt_every = 156
  if arg == 'tiny':
    c.model.variant = 'tiny'
    common.tiny(c)
  elif arg == 'full':
    c.model.im2col = False                   # accelerators' convolutions need no detour
    c.optimizer.schedule = 'exponential'
    c.optimizer.decay_rate = 0.96            # per epoch, as in the authors' code
    c.optimizer.decay_steps = common.TRAIN // 128
    c.num_steps = common.steps(50, 128)
    c.eval_every = c.ckpt_every = 5 * (common.TRAIN // 128)
  return c


def get_record():
  from experiments.records import Claim
  return common.record(
      paper_value='0.936 ("Capsule Network 8M", shift by 2 px and horizontal flips)',
      paper_setting='CapsNet of Sabour et al. (8M parameters) with the augmentation above (the '
                    'submitter\'s code; epochs not stated in the table)',
      paper_number=0.936,
      full_time='~1 h',
      notes='CPU threshold calibrated on one run at seed 0 before seeds 0-2 were recorded '
            '(python -m train --config experiments/fashion/capsnet.py, 2-core AVX-512 Xeon, '
            '2026-12-06): test accuracy 0.8196 after the one epoch; threshold set 0.02 below, '
            'at 0.80. One epoch is far shorter than the row\'s training (the table does not '
            'state its epochs; the authors\' code runs 50).',
      claim=Claim(
          statement='the paper\'s CapsNet with the row\'s augmentation learns Fashion-MNIST in one '
                    'epoch on a CPU',
          setting='all 60k train, test 10k; pixels / 255, shift <= 2 px + horizontal flips; '
                  'CapsNet sabour_mnist (8.2M), r=3, margin + 0.0005 x reconstruction; Adam 1e-3 '
                  'cosine, batch 128, 1 epoch (468 steps)',
          metric='test accuracy', threshold=0.80, direction='>=', seeds=(0, 1, 2),
          minutes=40.0))
