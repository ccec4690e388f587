"""The benchmark table's "2 Conv+pooling" net on Fashion-MNIST, with the PyTorch reference's recipe.

Model (the TensorFlow layers tutorial's net, `benchmark/convnet.py` in the data set's repository):
conv 5x5x32 SAME + ReLU -> max-pool 2 -> conv 5x5x64 SAME + ReLU -> max-pool 2 -> dense 1024 +
ReLU -> dropout 0.4 -> dense 10 (models/cnn.py, `fashion2conv`; 3.27M parameters).
Default recipe = ../shared/torch-reference/fashion_torch.py's: pixels / 255, Adam 1e-3, batch 128,
no schedule, all 60k, a fresh seeded shuffle each epoch, 6 epochs (2808 steps); the test split
is evaluated after every epoch, so the accuracy per epoch compares with PyTorch's (seed 0 there:
0.8626, 0.9028, 0.9052, 0.9107, 0.9128, 0.9210).

  python -m train --config experiments/fashion/cnn2.py --workdir runs/fashion_cnn2
  python -m experiments.reproduce experiments/fashion/cnn2.py        # 3 seeds

`full`: the tutorial code's own recipe (SGD 0.001, batch 400, 200k steps) for an accelerator.
"""

from experiments.fashion import common


def get_config(arg: str = ''):
  common.check_arg(arg)
  c = common.base(epochs=6, batch=128)
  c.model.name = 'cnn'
  c.model.variant = 'fashion2conv'
  if arg == 'tiny':
    common.tiny(c)
  elif arg == 'full':
    c.data.batch_size = 400
    c.optimizer.name = 'sgd'
    c.optimizer.momentum = 0.0
    c.optimizer.learning_rate = 1e-3
    c.num_steps = 200_000
    c.eval_every = c.ckpt_every = 10_000
  return c


def get_record():
  from experiments.records import Claim
  return common.record(
      paper_value='0.916 ("2 Conv+pooling", TensorFlow\'s tutorial code); a second "2 '
                  'Conv+pooling" row (Kashif Rasul\'s code) reports 0.876',
      paper_setting='the tutorial net above, no preprocessing, SGD 0.001, batch 400, 200k steps',
      paper_number=0.916,
      full_time='~15 min',
      claim=Claim(
          statement='the table\'s 2-conv net reaches its row\'s accuracy with the shared PyTorch '
                    'recipe in 6 epochs',
          setting='all 60k train, test 10k; pixels / 255; Adam 1e-3, batch 128, 6 epochs (2808 '
                  'steps), dropout 0.4',
          metric='test accuracy', threshold=0.91, direction='>=', seeds=(0, 1, 2),
          minutes=20.0))
