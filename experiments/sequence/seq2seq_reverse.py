"""An encoder-decoder Transformer reverses strings of 8 digits, decoding greedily.

Vaswani et al. 2017 ("Attention is all you need", Fig. 1): encoder over the source, causal
decoder with cross-attention, teacher forcing in training. Data: `nnzoo_algorithmic/reverse8`
(`source` = 8 digits, `target` = them reversed; 2k unseen test strings). Metric: the share of test
strings whose greedy decoding (no targets given) is exactly right.

  python -m train --config experiments/sequence/seq2seq_reverse.py --workdir runs/seq2seq
  python -m experiments.reproduce experiments/sequence/seq2seq_reverse.py
"""

from train.config import base_config


def get_config(arg: str = ''):
  c = base_config()
  c.objective = 'seq2seq'
  c.model.name = 'transformer'
  c.model.variant = 'seq2seq_algorithmic'
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
  c.plots = False
  if arg == 'tiny':
    c.model.variant = 'seq2seq_tiny'
    c.data.batch_size = 16
    c.num_steps = 5
    c.optimizer.warmup_steps = 1
  elif arg == 'full':  # the same task 10x longer (a WMT run needs a tokenizing input transform)
    c.num_steps = 8_000
    c.eval_every = 2_000
    c.ckpt_every = 2_000
  elif arg:
    raise ValueError(f'unknown argument {arg!r}; use "", "tiny" or "full"')
  return c


def get_record():
  from experiments.records import Claim, Paper, Record
  return Record(
      paper=Paper('Vaswani, Shazeer, Parmar, Uszkoreit, Jones, Gomez, Kaiser & Polosukhin', 2017,
                  'Attention is all you need', 'https://arxiv.org/abs/1706.03762', 'Table 2'),
      metric='WMT 2014 English-German BLEU',
      paper_value='27.3 (Transformer base)',
      paper_setting='WMT14 en-de, 4.5M sentence pairs, 37k BPE, 100k steps on 8 P100 GPUs',
      full_hardware='CPU or any accelerator (the full config trains the claim\'s model 10x '
                    'longer; the paper\'s WMT run needs a tokenizing input transform that nnzoo '
                    'does not have yet; models/transformer.py has the transformer_base row)',
      full_time='~10 min on CPU',
      claim=Claim(
          statement='an encoder-decoder Transformer learns to map a sequence to its reversal and '
                    'decodes it greedily without the target',
          setting='nnzoo_algorithmic/reverse8, 50k train / 2k unseen test, 2+2 layers, d 64, '
                  'AdamW 1e-3 warmup-cosine, batch 64, 800 steps',
          metric='test greedy whole-sequence accuracy', threshold=0.95, direction='>=',
          seeds=(0, 1, 2), eval_key='greedy_seq_accuracy', minutes=3.0),
  )
