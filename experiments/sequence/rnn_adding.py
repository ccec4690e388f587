"""Elman (tanh) RNN on the adding problem at T=200 (Hochreiter & Schmidhuber 1997, Experiment 4).

Model: one tanh RNN layer (Elman 1990) of 32 units, last hidden state -> Dense 1
(models/rnn.py). Data: `nnzoo_adding/t200`, 50k train / 5k test sequences generated offline
(train/datasets/adding.py). Objective: MSE. Predicting the mean gives MSE 0.167.

  python -m train --config experiments/sequence/rnn_adding.py --workdir runs/rnn_adding
  python -m experiments.reproduce experiments/sequence/rnn_adding.py    # ~25 s per seed, 2 cores

Why T=200 and not the gated cells' T=100: at T=100 the tanh RNN is between learning and not.
Over ten seeds its test MSE ranged from 0.042 to 0.269 on one AVX-512 host (none <= 0.03) and
from 0.012 to 0.165 on another (0.012 and 0.018 solved, 0.030 at the line), float rounding alone
moving a seed across (`python -m experiments.sequence.adding_study`, table in README.md). At
T=200 it learns nothing on every seed (MSE 0.168-0.175, the mean predictor's), while the LSTM
and GRU, same budget, solve T=200 on every seed (and T=400 on all but one LSTM seed): that is
the comparison that holds on any host.
"""

from experiments.sequence import adding

CELL = 'rnn'
LENGTH = 200


def get_config(arg: str = ''):
  return adding.config(CELL, arg, length=LENGTH)


def get_record():
  from experiments.records import Claim, Paper, Record
  return Record(
      paper=Paper('Hochreiter & Schmidhuber', 1997, 'Long short-term memory',
                  'https://doi.org/10.1162/neco.1997.9.8.1735', 'Sections 3 and 5'),
      metric='adding problem: solved or not',
      paper_value='gradient-trained conventional recurrent nets (BPTT, RTRL) fail on long '
                  'minimal time lags; the error flowing back vanishes (Section 3)',
      paper_setting='long-time-lag tasks; the adding problem is Experiment 4',
      full_hardware='1 GPU or TPU chip (CPU: ~1 h)',
      full_time='~10 min',
      notes='Le, Jaitly & Hinton 2015 and Arjovsky, Shah & Bengio 2016 report the same kind of '
            'failure of the tanh RNN on the adding problem at longer lengths. At T=100 (the '
            'LSTM and GRU claims\' length) the tanh RNN is seed- and host-sensitive: see '
            'adding_study.py and the study table.',
      claim=Claim(
          statement='a tanh RNN trained like the LSTM and GRU does not solve the adding problem '
                    'at T=200, which they solve on every seed (adding_study): its test MSE '
                    'stays near that of predicting the mean (0.167)',
          setting='adding T=200 (U[0,1] values, one marker per half), 50k train / 5k test, '
                  'tanh RNN 32 units, Adam 3e-3, batch 64, 3000 steps',
          metric='test MSE', threshold=0.12, direction='>=', seeds=(0, 1, 2),
          eval_key='mse', minutes=1.5),
  )
