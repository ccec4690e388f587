"""What gru.py and lstm.py share: a recurrent net reading a Fashion-MNIST image row by row.

Each 28x28 image is a 28-step sequence of 28 pixels (models/rnn.py reads [B, H, W, C] images by
rows); one layer of 128 units, the last hidden state -> dense 10. Recipe: pixels / 255, Adam 1e-3
with gradient clipping at 1, batch 128, 10 epochs. The table's "GRU+SVM" row (0.888) puts an SVM
(squared hinge loss) on the GRU's output; we use softmax cross-entropy.
"""

from experiments.fashion import common


def config(cell: str, arg: str = ''):
  common.check_arg(arg)
  c = common.base(epochs=10, batch=128)
  c.model.name = 'rnn'
  c.model.variant = 'tiny'
  c.model.cell = cell
  c.model.hidden = 128
  c.model.num_outputs = 10
  c.optimizer.clip_norm = 1.0
  if arg == 'tiny':
    c.model.hidden = 16
    common.tiny(c)
  return c


def record(cell: str):
  from experiments.records import Claim
  name = cell.upper()
  return common.record(
      paper_value='0.888 ("GRU+SVM", no preprocessing); 0.897 with dropout',
      paper_setting='GRU over the image rows, SVM output layer (the submitter\'s code)',
      paper_number=0.888,
      full_time='~3 min',
      claim=Claim(
          statement=f'{"an" if cell == "lstm" else "a"} {name} reading the image row by row '
                    'reaches the table\'s GRU row',
          setting=f'all 60k train, test 10k; pixels / 255; 28 steps of 28 pixels, {name} 128 '
                  'units, softmax head; Adam 1e-3 (clip 1), batch 128, 10 epochs (4680 steps)',
          metric='test accuracy', threshold=0.88, direction='>=', seeds=(0, 1, 2),
          minutes=8.0))
