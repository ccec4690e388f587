"""Elman (tanh) RNN on the adding problem at T=100 (Hochreiter & Schmidhuber 1997, Experiment 4).

Model: one tanh RNN layer (Elman 1990) of 32 units, last hidden state -> Dense 1
(models/rnn.py). Data: `nnzoo_adding/t100`, 100k train / 10k test sequences generated offline
(train/datasets/adding.py). Objective: MSE. Predicting the mean gives MSE 0.167.

  python -m train --config experiments/sequence/rnn_adding.py --workdir runs/rnn_adding
  python -m experiments.reproduce experiments/sequence/rnn_adding.py    # ~20 s per seed, 2 cores

lstm_adding.py and gru_adding.py train experiments/sequence/adding.py with another cell: the three
claims together say that the gated cells carry information across 100 steps and the tanh RNN, same
budget, does not.
"""

from experiments.sequence import adding

CELL = 'rnn'


def get_config(arg: str = ''):
  return adding.config(CELL, arg)


def get_record():
  from experiments.records import Claim, Paper, Record
  return Record(
      paper=Paper('Hochreiter & Schmidhuber', 1997, 'Long short-term memory',
                  'https://doi.org/10.1162/neco.1997.9.8.1735', 'Sections 3 and 5'),
      metric='adding problem, T=100: solved or not',
      paper_value='gradient-trained conventional recurrent nets (BPTT, RTRL) fail on long '
                  'minimal time lags; the error flowing back vanishes (Section 3)',
      paper_setting='long-time-lag tasks; the adding problem is Experiment 4',
      full_hardware='1 GPU or TPU chip (CPU: ~1 h)',
      full_time='~10 min',
      notes='Le, Jaitly & Hinton 2015 and Arjovsky, Shah & Bengio 2016 report the same kind of '
            'failure of the tanh RNN on the adding problem at longer lengths. Seed-sensitive: '
            'float rounding alone (the fused or the plain layer, one or two CPU devices; same '
            'gradients to 3e-7) moves seed 2 anywhere from 0.080 to 0.156.',
      claim=Claim(
          statement='a tanh RNN trained like the LSTM and GRU does not solve the adding problem '
                    'at T=100: its MSE stays above half that of predicting the mean (0.167), '
                    'over 100x the gated cells\' (< 0.001)',
          setting='adding T=100 (U[0,1] values, one marker per half), 100k train / 10k test, '
                  'tanh RNN 32 units, Adam 3e-3, batch 64, 3000 steps',
          metric='test MSE', threshold=0.08, direction='>=', seeds=(0, 1, 2),
          eval_key='mse', minutes=1.0),
  )
