"""The adding problem (Hochreiter & Schmidhuber 1997, Experiment 4) for any recurrent cell.

lstm_adding.py, gru_adding.py and rnn_adding.py each train `config(cell, length=...)` and state
their own paper and claim: together they say that the gated cells carry information across 100
steps (and, in adding_study.py, 200 and 400) and the tanh RNN, same budget, does not at 200.
"""

from experiments import harness
from train.config import base_config


def config(cell: str, arg: str = '', length: int = 100):
  """One layer of `cell` ('lstm' | 'gru' | 'rnn'), 32 units, sequences of `length` steps (a
  builder config of nnzoo_adding: 100, 200 or 400); arg '' (CPU), 'tiny' or 'full'."""
  c = base_config()
  c.objective = 'regression'
  c.model.name = 'rnn'
  c.model.variant = f'{cell}_adding'
  c.model.hidden = 32
  c.data.name = f'nnzoo_adding/t{length}'
  c.data.batch_size = 64
  c.data.eval_batch_size = 1000
  c.optimizer.name = 'adam'
  c.optimizer.learning_rate = 3e-3
  c.optimizer.clip_norm = 1.0
  c.num_steps = 3000
  # Gated cells on two CPU devices, data-parallel (ignored on GPU/TPU), on the 2-core EPYC: LSTM
  # 600 steps 5.0-5.4 -> 3.9 s, GRU 300 steps 2.2-2.4 -> 1.8-1.9 s; the 32-unit tanh RNN's steps
  # are too small to split (3000 steps 7.7-7.9 s on one device, 8.1-9.4 s on two).
  c.cpu_devices = 2 if cell in ('lstm', 'gru') else 0
  c.log_every = 100
  c.eval_every = 1000
  c.ckpt_every = 0
  if arg == 'tiny':
    c.model.hidden = 8
    c.data.name = 'nnzoo_adding/t10'
    c.data.batch_size = 16
    c.data.eval_batch_size = 200
    c.num_steps = 5
    c.plots = False
  elif arg == 'full':  # 128 units as in Le et al. 2015 / Arjovsky et al. 2016, longer schedule
    c.model.hidden = 128
    c.data.batch_size = 128
    c.optimizer.learning_rate = 1e-3
    c.num_steps = 20_000
    c.eval_every = 2000
    c.ckpt_every = 2000
  elif arg:
    raise harness.unknown_argument(arg, '', 'tiny', 'full')
  return c
