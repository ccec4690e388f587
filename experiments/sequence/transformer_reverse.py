"""A 2-layer decoder-only Transformer learns to reverse strings of 8 digits.

Vaswani et al. 2017 ("Attention is all you need") introduce the model; reversing a string is the
classic test that a sequence model can route information by position (Sutskever, Vinyals & Le
2014 reverse the source sentence to help their LSTM; Graves, Wayne & Danihelka 2014 and Kaiser &
Sutskever 2016 use copy/reverse/sort as algorithmic benchmarks). Data: `nnzoo_algorithmic/reverse8`,
50k train strings, 2k unseen test strings, as `x SEP reverse(x)`; the loss counts only the answer.
Metric: whole-sequence accuracy of the answer (teacher-forced argmax, which equals greedy decoding).

  python -m train --config experiments/sequence/transformer_reverse.py --workdir runs/reverse
  python -m experiments.reproduce experiments/sequence/transformer_reverse.py
"""

from experiments import harness
from train.config import base_config


def get_config(arg: str = ''):
  c = base_config()
  c.objective = 'lm'
  c.model.name = 'transformer'
  c.model.variant = 'algorithmic'
  c.data.name = 'nnzoo_algorithmic/reverse8'
  c.data.batch_size = 64
  c.data.eval_batch_size = 400
  c.optimizer.name = 'adamw'
  c.optimizer.learning_rate = 1e-3
  c.optimizer.weight_decay = 0.01
  c.optimizer.schedule = 'warmup_cosine'
  c.optimizer.warmup_steps = 100
  c.optimizer.clip_norm = 1.0
  c.num_steps = 800
  c.log_every = 100
  c.eval_every = 400
  c.ckpt_every = 0
  c.objective_args.sample_prompt = 9     # the 8 digits and SEP: the sample is the model's answer
  c.objective_args.sample_tokens = 8
  c.objective_args.temperature = 0.0
  if arg == 'tiny':
    c.data.name = 'nnzoo_algorithmic/reverse4'
    c.model.variant = 'tiny'
    c.model.vocab_size = 12
    c.data.batch_size = 16
    c.data.eval_batch_size = 400
    c.num_steps = 5
    c.optimizer.warmup_steps = 1
    c.plots = False
  elif arg == 'full':  # the same task, longer: the claim's model trained 10x as long
    c.num_steps = 8_000
    c.eval_every = 2000
    c.ckpt_every = 2000
  elif arg:
    raise harness.unknown_argument(arg, '', 'tiny', 'full')
  return c


def get_record():
  from experiments.records import Claim, Paper, Record
  return Record(
      paper=Paper('Vaswani, Shazeer, Parmar, Uszkoreit, Jones, Gomez, Kaiser & Polosukhin', 2017,
                  'Attention is all you need', 'https://arxiv.org/abs/1706.03762', 'Section 3'),
      metric='(no number for this task in the paper; the model is the paper\'s)',
      paper_value='n/a: a 2-layer causal Transformer should reverse short strings almost always',
      paper_setting='the Transformer of Section 3 (pre-LN variant), decoder only',
      full_hardware='CPU (2 cores) or any accelerator',
      full_time='~10 min on CPU',
      claim=Claim(
          statement='a 2-layer decoder-only Transformer reverses unseen length-8 digit strings',
          setting='nnzoo_algorithmic/reverse8, 50k train / 2k unseen test, d 64, 4 heads, MLP 256, '
                  'AdamW 1e-3 warmup-cosine, batch 64, 800 steps',
          metric='test whole-sequence accuracy', threshold=0.95, direction='>=', seeds=(0, 1, 2),
          eval_key='seq_accuracy', minutes=4.0),
  )
