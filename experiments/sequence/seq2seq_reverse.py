"""An encoder-decoder Transformer reverses strings of 8 digits, decoding greedily.

Vaswani et al. 2017 ("Attention is all you need", Fig. 1): encoder over the source, causal
decoder with cross-attention, teacher forcing in training. Data: `nnzoo_algorithmic/reverse8`
(`source` = 8 digits, `target` = them reversed; 2k unseen test strings). Metric: the share of test
strings whose greedy decoding (no targets given) is exactly right.

`:full` trains Transformer base on WMT 2014 English -> German from TFDS, byte-level (no BPE
vocabulary file; the tokenizing input step is config.data.preprocess).

  python -m train --config experiments/sequence/seq2seq_reverse.py --workdir runs/seq2seq
  python -m experiments.reproduce experiments/sequence/seq2seq_reverse.py
  python -m train --config experiments/sequence/seq2seq_reverse.py:full --workdir gs://.../wmt14
"""

from experiments import harness
from train import preprocess
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
  c.num_steps = 2000
  c.log_every = 100
  c.eval_every = 1000
  c.ckpt_every = 0
  c.plots = False
  if arg == 'tiny':
    c.data.name = 'nnzoo_algorithmic/reverse4'
    c.model.variant = 'seq2seq_tiny'
    c.data.batch_size = 16
    c.data.eval_batch_size = 400
    c.num_steps = 5
    c.optimizer.warmup_steps = 1
  elif arg == 'full':
    # WMT 2014 English -> German (TFDS wmt14_translate/de-en, ~4.5M sentence pairs), Transformer
    # base, as bytes: source = English bytes + EOS, target = German bytes + EOS, each cut or
    # padded to 256 tokens (train/preprocess.py); padding is masked out of attention and loss.
    # Optimizer as in the paper's Section 5.3: Adam (0.9, 0.98, eps 1e-9), peak lr
    # d_model^-0.5 x 4000^-0.5 = 7e-4 after 4000 warmup steps (then cosine, not 1/sqrt(step));
    # no label smoothing.
    c.model.variant = 'transformer_base'
    c.model.vocab_size = preprocess.BYTE_VOCAB
    c.model.max_len = 256
    c.model.bos_id = preprocess.BOS
    c.model.pad_id = preprocess.PAD
    c.data.name = 'wmt14_translate/de-en'
    c.data.eval_split = 'test'
    c.data.cache = False
    c.data.preprocess = (
        'tokenize_bytes(key="en", out="source", length=256)',
        'tokenize_bytes(key="de", out="target", length=256, mask="target_mask")',
    )
    c.data.batch_size = 256
    c.data.eval_batch_size = 256
    c.optimizer.name = 'adam'
    c.optimizer.b2 = 0.98
    c.optimizer.eps = 1e-9
    c.optimizer.weight_decay = 0.0
    c.optimizer.learning_rate = 7e-4
    c.optimizer.warmup_steps = 4000
    c.num_steps = 100_000
    c.eval_every = 10_000
    c.ckpt_every = 5_000
  elif arg:
    raise harness.unknown_argument(arg, '', 'tiny', 'full')
  return c


def get_record():
  from experiments.records import Claim, Paper, Record
  return Record(
      paper=Paper('Vaswani, Shazeer, Parmar, Uszkoreit, Jones, Gomez, Kaiser & Polosukhin', 2017,
                  'Attention is all you need', 'https://arxiv.org/abs/1706.03762', 'Table 2'),
      metric='WMT 2014 English-German BLEU',
      paper_value='27.3 (Transformer base)',
      paper_setting='WMT14 en-de, 4.5M sentence pairs, shared BPE vocabulary of ~37k tokens, '
                    'newstest2014, 100k steps (12 h) on 8 P100 GPUs, beam 4, last 5 checkpoints '
                    'averaged; big: 28.4 (Table 2)',
      full_hardware='1 TPU v5e-8 slice or 8 GPUs (Transformer base on TFDS wmt14_translate/de-en, '
                    'byte-level: the full config)',
      full_time='~1 day (bytes make sequences ~4x longer than the paper\'s BPE tokens)',
      notes='The full config reports teacher-forced token accuracy and greedy whole-sentence '
            'accuracy on newstest2014, not BLEU: nnzoo has no BLEU scorer (sacrebleu would be '
            'a new dependency) and decodes greedily, not with beam search.',
      claim=Claim(
          statement='an encoder-decoder Transformer learns to map a sequence to its reversal and '
                    'decodes it greedily without the target',
          setting='nnzoo_algorithmic/reverse8, 50k train / 2k unseen test, 2+2 layers, d 64, '
                  'AdamW 1e-3 warmup-cosine, batch 64, 2000 steps',
          metric='test greedy whole-sequence accuracy', threshold=0.95, direction='>=',
          seeds=(0, 1, 2), eval_key='greedy_seq_accuracy', minutes=7.0),
  )
