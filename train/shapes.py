"""A config's global batch as shapes only, without reading its data set.

The sharding report and the ahead-of-time TPU compile check need the train state's shapes, which
the objective derives from one batch. One record is read from the real source when it is here (the
offline nnzoo_* sets build themselves); a full-scale config's TFDS set (mnist, lm1b, ...) that is
not on this machine is read from `tfds.testing.mock_data` instead, which has the same features and
touches neither files nor the network.
"""

import contextlib

import jax
import numpy as np
import tensorflow_datasets as tfds
from etils import epath

from train import data
from train import datasets


def data_is_here(data_config) -> bool:
  if datasets.is_local(data_config.name):
    return datasets.can_build(data_config.name, data.resolve_data_dir(data_config))
  base = (epath.Path(data.resolve_data_dir(data_config))
          / data_config.name.split('/')[0].split(':')[0])
  return base.exists()


def example(config) -> dict:
  """One training example (leading axis 1) as the pipeline would feed it: real or mock."""
  d = config.data
  mock = contextlib.nullcontext() if data_is_here(d) else tfds.testing.mock_data(num_examples=2)
  with mock:
    source = data.open_split(d, d.train_split)
    return data.scale_images(data.read(source, np.array([0])))


def abstract_batch(config, sharding) -> dict:
  """{key: ShapeDtypeStruct} of the global train batch, placed with `sharding`."""
  return {k: jax.ShapeDtypeStruct((config.data.batch_size,) + v.shape[1:],
                                  jax.dtypes.canonicalize_dtype(v.dtype), sharding=sharding)
          for k, v in example(config).items()}
