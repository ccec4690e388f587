"""The adding problem (Hochreiter & Schmidhuber 1997, Experiment 4) at sequence length T.

Each example is T steps of two inputs: a value drawn uniformly from [0, 1], and a marker that is 1
at exactly two steps, one in the first half and one in the second half of the sequence (the
convention of Le, Jaitly & Hinton 2015 and Arjovsky, Shah & Bengio 2016). The target is the sum of
the two marked values. Predicting the mean (1.0) gives an MSE of Var(U1 + U2) = 2/12 = 0.167; a
network solves the task only by carrying the marked values across up to T steps.

Builder configs fix T: `nnzoo_adding/t100` etc. The data are generated from numpy
default_rng([T, split]) and so are identical on every machine.
"""

import dataclasses

import numpy as np
import tensorflow_datasets as tfds

from train.adding_problem import generate


@dataclasses.dataclass
class AddingConfig(tfds.core.BuilderConfig):
  length: int = 100
  num_train: int = 100_000
  num_test: int = 10_000


def make_config(length, num_train, num_test):
  return AddingConfig(name=f't{length}', length=length, num_train=num_train, num_test=num_test,
                      description=f'T={length}, {num_train} train / {num_test} test sequences')


class Adding(tfds.core.GeneratorBasedBuilder):
  """The adding problem as a TFDS data set; one builder config per sequence length T."""

  name = 'nnzoo_adding'
  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'Values U[0,1]; one marker in each half; target = sum.'}
  BUILDER_CONFIGS = [
      make_config(10, 10_000, 1_000),     # for tests
      make_config(50, 100_000, 10_000),
      make_config(100, 100_000, 10_000),
      make_config(200, 50_000, 5_000),
      make_config(400, 50_000, 5_000),
  ]

  def _info(self):
    t = self.builder_config.length
    return tfds.core.DatasetInfo(
        builder=self,
        description=__doc__,
        features=tfds.features.FeaturesDict({
            'inputs': tfds.features.Tensor(shape=(t, 2), dtype=np.float32),
            'target': tfds.features.Tensor(shape=(), dtype=np.float32),
        }),
        supervised_keys=('inputs', 'target'),
        homepage='https://doi.org/10.1162/neco.1997.9.8.1735',
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # generated, nothing to download
    c = self.builder_config
    return {'train': self._generate_examples(c.num_train, 0),
            'test': self._generate_examples(c.num_test, 1)}

  def _generate_examples(self, num, split_id):
    inputs, target = generate(self.builder_config.length, num,
                              seed=[self.builder_config.length, split_id])
    for i in range(num):
      yield i, {'inputs': inputs[i], 'target': target[i]}
