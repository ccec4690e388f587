"""LSTM over the rows of Fashion-MNIST images, against the benchmark table's "GRU+SVM" row.

See rnn_rows.py for the model and recipe.

  python -m train --config experiments/fashion/lstm.py --workdir runs/fashion_lstm
  python -m experiments.reproduce experiments/fashion/lstm.py
"""

from experiments.fashion import rnn_rows


def get_config(arg: str = ''):
  return rnn_rows.config('lstm', arg)


def get_record():
  return rnn_rows.record('lstm')
