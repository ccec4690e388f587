"""LSTM on the adding problem at T=100 (Hochreiter & Schmidhuber 1997, Experiment 4).

Model: one LSTM layer (with forget gate, Gers et al. 2000) of 32 units, last hidden state -> Dense 1
(models/rnn.py). Data: `nnzoo_adding/t100`, 100k train / 10k test sequences generated offline
(train/datasets/adding.py). Objective: MSE. Predicting the mean gives MSE 0.167.

  python -m train --config experiments/sequence/lstm_adding.py --workdir runs/lstm_adding
  # ~30 s per seed (2 cores, 2 CPU devices):
  python -m experiments.reproduce experiments/sequence/lstm_adding.py

gru_adding.py and rnn_adding.py train experiments/sequence/adding.py with another cell: the three
claims together say that the gated cells carry information across 100 steps and the tanh RNN, same
budget, does not.
"""

from experiments.sequence import adding

CELL = 'lstm'


def get_config(arg: str = ''):
  return adding.config(CELL, arg)


def get_record():
  from experiments.records import Claim, Paper, Record
  return Record(
      paper=Paper('Hochreiter & Schmidhuber', 1997, 'Long short-term memory',
                  'https://doi.org/10.1162/neco.1997.9.8.1735',
                  'Section 5.4, Experiment 4, Table 7'),
      metric='adding problem, T=100: training sequences until solved',
      paper_value='solved (all but 1 of 2560 test sequences within 0.04) after 74,000 sequences',
      paper_setting='T=100, values in [-1,1], online learning, 2 memory cell blocks of size 2',
      full_hardware='1 GPU or TPU chip (CPU: ~1 h)',
      full_time='~10 min',
      claim=Claim(
          statement='an LSTM learns to add two marked numbers seen up to 100 steps apart',
          setting='adding T=100 (U[0,1] values, one marker per half), 100k train / 10k test, '
                  'LSTM 32 units, Adam 3e-3, batch 64, 3000 steps',
          metric='test MSE', threshold=0.03, direction='<=', seeds=(0, 1, 2),
          eval_key='mse', minutes=2.0),
  )
