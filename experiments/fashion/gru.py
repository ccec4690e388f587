"""GRU over the rows of Fashion-MNIST images, against the benchmark table's "GRU+SVM" row.

See rnn_rows.py for the model and recipe.

  python -m train --config experiments/fashion/gru.py --workdir runs/fashion_gru
  python -m experiments.reproduce experiments/fashion/gru.py
"""

from experiments.fashion import rnn_rows


def get_config(arg: str = ''):
  return rnn_rows.config('gru', arg)


def get_record():
  return rnn_rows.record('gru')
