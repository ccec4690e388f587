"""The benchmark table's "MLP 256-128-100" on Fashion-MNIST.

Model: 784 -> 256 -> 128 -> 100 -> 10, ReLU (models/mlp.py, `fashion256`), dropout 0.2.
Recipe: pixels / 255, Adam 1e-3 with a cosine decay, batch 128, 20 epochs.

  python -m train --config experiments/fashion/mlp.py --workdir runs/fashion_mlp
  python -m experiments.reproduce experiments/fashion/mlp.py
"""

from experiments.fashion import common


def get_config(arg: str = ''):
  common.check_arg(arg)
  c = common.base(epochs=20, batch=128)
  c.model.name = 'mlp'
  c.model.variant = 'fashion256'
  c.model.dropout = 0.2
  c.optimizer.schedule = 'cosine'
  c.eval_every = c.ckpt_every = 5 * (common.TRAIN // 128)
  if arg == 'tiny':
    common.tiny(c)
  return c     # 'full' is the same run: it takes minutes on a CPU


def get_record():
  from experiments.records import Claim
  return common.record(
      paper_value='0.8833 ("MLP 256-128-100", no preprocessing)',
      paper_setting='MLP 256-128-100 (the submitter\'s code; its recipe is not in the table)',
      paper_number=0.8833,
      full_time='~1 min',
      claim=Claim(
          statement='a three-hidden-layer MLP of the table\'s sizes reaches its row\'s accuracy',
          setting='all 60k train, test 10k; pixels / 255; MLP 256-128-100, dropout 0.2; Adam 1e-3 '
                  'cosine, batch 128, 20 epochs (9360 steps)',
          metric='test accuracy', threshold=0.88, direction='>=', seeds=(0, 1, 2),
          minutes=2.5))
