"""Algorithmic sequence tasks on digit strings: copy, reverse, sort (one builder config each).

An example is one token sequence `x SEP y` for a language model: x is LENGTH random digits (tokens
0..9), SEP is token 10, y is f(x) (x itself, x reversed, x sorted). `loss_mask` is 1 on the tokens
of y, so a model is scored only on the answer. The same example also holds `source` (x) and
`target` (y) for encoder-decoder models. The test strings are drawn first and excluded from
train, so test accuracy measures generalisation to unseen strings (10^8 exist; 50k are seen).
Generated from numpy default_rng([task, length]).
"""

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

SEP = 10
VOCAB = 12   # digits 0..9, SEP, and one spare id (never produced)
TASKS = {'copy': lambda x: x, 'reverse': lambda x: x[:, ::-1], 'sort': lambda x: np.sort(x, -1)}


@dataclasses.dataclass
class AlgorithmicConfig(tfds.core.BuilderConfig):
  task: str = 'reverse'
  length: int = 8
  num_train: int = 50_000
  num_test: int = 2_000


def make_examples(task: str, length: int, num_train: int, num_test: int):
  """{'train': (tokens, loss_mask), 'test': (...)} with the test strings absent from train."""
  rng = np.random.default_rng([list(TASKS).index(task), length])
  test = np.unique(rng.integers(0, 10, size=(num_test * 2, length)), axis=0)
  test = test[rng.permutation(len(test))[:num_test]]
  seen = {row.tobytes() for row in test}
  train = rng.integers(0, 10, size=(num_train * 2, length))
  train = train[[row.tobytes() not in seen for row in train]][:num_train]
  out = {}
  for split, x in (('train', train), ('test', test)):
    tokens = np.concatenate([x, np.full((len(x), 1), SEP), TASKS[task](x)], 1).astype(np.int32)
    mask = np.zeros(tokens.shape, np.float32)
    mask[:, length + 1:] = 1.0
    out[split] = (tokens, mask)
  return out


class Algorithmic(tfds.core.GeneratorBasedBuilder):
  """Copy / reverse / sort of digit strings, as next-token sequences."""

  name = 'nnzoo_algorithmic'
  VERSION = tfds.core.Version('1.1.0')
  RELEASE_NOTES = {'1.0.0': 'x SEP f(x) over digits; loss_mask on f(x); test strings unseen.',
                   '1.1.0': 'also source (x) and target (f(x)) for encoder-decoder models.'}
  BUILDER_CONFIGS = [AlgorithmicConfig(name=f'{task}{n}', task=task, length=n,
                                       description=f'{task} of {n} digits')
                     for task in TASKS for n in (8,)]

  def _info(self):
    n = 2 * self.builder_config.length + 1
    return tfds.core.DatasetInfo(
        builder=self,
        description=__doc__,
        features=tfds.features.FeaturesDict({
            'tokens': tfds.features.Tensor(shape=(n,), dtype=np.int32),
            'loss_mask': tfds.features.Tensor(shape=(n,), dtype=np.float32),
            'source': tfds.features.Tensor(shape=(self.builder_config.length,), dtype=np.int32),
            'target': tfds.features.Tensor(shape=(self.builder_config.length,), dtype=np.int32),
        }),
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # generated, nothing to download
    c = self.builder_config
    data = make_examples(c.task, c.length, c.num_train, c.num_test)
    return {split: self._generate_examples(*arrays) for split, arrays in data.items()}

  def _generate_examples(self, tokens, mask):
    n = self.builder_config.length
    for i in range(len(tokens)):
      yield i, {'tokens': tokens[i], 'loss_mask': mask[i], 'source': tokens[i, :n],
                'target': tokens[i, n + 1:]}
