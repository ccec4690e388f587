"""A small Vision Transformer (Dosovitskiy et al. 2021) on Fashion-MNIST.

Model: models/transformer.py ViT: 7x7 patches (16 tokens + [class]), d 64, 4 pre-LayerNorm
layers of 4 heads, MLP 128 (`--config.model.patch=4` gives 49 tokens of 4x4 pixels instead).
Recipe: pixels / 255, AdamW 1e-3 (weight decay 1e-4) with 1 epoch of warm-up and a cosine decay,
batch 128, 10 epochs. The benchmark table has no ViT row.

  python -m train --config experiments/fashion/vit.py --workdir runs/fashion_vit
  python -m experiments.reproduce experiments/fashion/vit.py
"""

from experiments.fashion import common


def get_config(arg: str = ''):
  common.check_arg(arg)
  c = common.base(epochs=10, batch=128)
  c.model.name = 'transformer'
  c.model.variant = 'vit_tiny'
  c.model.patch = 7
  c.model.d_model = 64
  c.model.num_layers = 4
  c.model.num_heads = 4
  c.model.mlp_dim = 128
  c.optimizer.name = 'adamw'
  c.optimizer.weight_decay = 1e-4
  c.optimizer.schedule = 'warmup_cosine'
  c.optimizer.warmup_steps = common.TRAIN // 128
  if arg == 'tiny':
    c.model.num_layers = 1
    common.tiny(c)
  return c


def get_record():
  from experiments.records import Claim, Paper, Record
  return Record(
      paper=Paper('Dosovitskiy et al.', 2021,
                  'An image is worth 16x16 words: Transformers for image recognition at scale',
                  'https://arxiv.org/abs/2010.11929', 'Section 4 (ViT trained from scratch on '
                  'small data falls behind CNNs)'),
      metric='Fashion-MNIST test accuracy (no ViT row in the benchmark table)',
      paper_value='no Fashion-MNIST number; trained without large-scale pre-training, ViT is '
                  'behind comparable CNNs',
      paper_setting='ImageNet / JFT pre-training, 16x16 patches',
      full_hardware=common.FULL_HARDWARE, full_time='~5 min',
      claim=Claim(
          statement='a small ViT on 7x7 patches, trained from scratch on 60k images, learns '
                    'Fashion-MNIST well (and, as the paper says of ViTs on small data, not '
                    'better than the 2-conv CNN)',
          setting='all 60k train, test 10k; pixels / 255; ViT 7x7 patches, d 64, 4 layers, 4 '
                  'heads, MLP 128; AdamW 1e-3 warm-up + cosine, batch 128, 10 epochs',
          metric='test accuracy', threshold=0.85, direction='>=', seeds=(0, 1, 2),
          minutes=30.0))
