"""The train state: one pytree holding everything a run needs to continue bit for bit."""

from typing import Any

import flax.struct
import jax


@flax.struct.dataclass
class TrainState:
  step: jax.Array          # int32 scalar: optimizer steps taken
  params: Any              # what the gradient (or update rule) changes; a GAN keeps {'g', 'd'}
  opt_state: Any           # optax state(s), same nesting as params where there are several
  model_state: Any         # non-trained collections: batch-norm statistics, SOM schedules, ...
  rng: jax.Array           # base key; step s uses fold_in(rng, s), so no key is threaded
