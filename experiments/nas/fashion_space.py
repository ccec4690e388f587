"""The Fashion NAS study's search space: models/nas_cnn.py under the 2-conv net's parameter count.

The bound is the parameter count of experiments/fashion/cnn2.py's model, counted from that config
(so a change there moves the space), and the 2-conv net is itself a member, at the bound.
"""

import functools

from models import nas_cnn


@functools.lru_cache(maxsize=None)
def max_params() -> int:
  """Parameters of experiments/fashion/cnn2.py's model on 28x28x1 Fashion-MNIST images."""
  import jax
  import jax.numpy as jnp
  import numpy as np
  import models
  from experiments.fashion import cnn2
  model = models.build(cnn2.get_config().model)
  shapes = jax.eval_shape(lambda: model.init(jax.random.key(0), jnp.zeros((1, 28, 28, 1))))
  return int(sum(np.prod(a.shape) for a in jax.tree.leaves(shapes['params'])))


def space() -> nas_cnn.Space:
  return nas_cnn.Space(max_params())
