"""GRU on the adding problem at T=100 (Hochreiter & Schmidhuber 1997, Experiment 4).

Model: one GRU layer (Cho et al. 2014) of 32 units, last hidden state -> Dense 1
(models/rnn.py). Data: `nnzoo_adding/t100`, 100k train / 10k test sequences generated offline
(train/datasets/adding.py). Objective: MSE. Predicting the mean gives MSE 0.167.

  python -m train --config experiments/sequence/gru_adding.py --workdir runs/gru_adding
  # ~30 s per seed (2 cores, 2 CPU devices):
  python -m experiments.reproduce experiments/sequence/gru_adding.py

lstm_adding.py and rnn_adding.py train experiments/sequence/adding.py with another cell: the three
claims together say that the gated cells carry information across 100 steps and the tanh RNN, same
budget, does not.
"""

from experiments.sequence import adding

CELL = 'gru'


def get_config(arg: str = ''):
  return adding.config(CELL, arg)


def get_record():
  from experiments.records import Claim, Paper, Record
  return Record(
      paper=Paper('Chung, Gulcehre, Cho & Bengio', 2014,
                  'Empirical evaluation of gated recurrent neural networks on sequence modeling',
                  'https://arxiv.org/abs/1412.3555', 'Section 5, Table 2, Figures 2-3'),
      metric='negative log-likelihood on music and speech data (no adding-problem number)',
      paper_value='GRU comparable to LSTM, both clearly better than the tanh RNN',
      paper_setting='polyphonic music and Ubisoft speech data, ~20k-parameter models, RMSProp',
      full_hardware='1 GPU or TPU chip (CPU: ~1 h)',
      full_time='~10 min',
      notes='The GRU papers (Cho et al. 2014; Chung et al. 2014) report no adding-problem number; '
            'the claim checks their qualitative result, gated units carry long-range information '
            'where the tanh RNN does not, on the task the LSTM paper uses for it.',
      claim=Claim(
          statement='a GRU learns to add two marked numbers seen up to 100 steps apart',
          setting='adding T=100 (U[0,1] values, one marker per half), 100k train / 10k test, '
                  'GRU 32 units, Adam 3e-3, batch 64, 3000 steps',
          metric='test MSE', threshold=0.03, direction='<=', seeds=(0, 1, 2),
          eval_key='mse', minutes=2.0),
  )
