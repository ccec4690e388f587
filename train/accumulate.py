"""Gradient accumulation: one optimizer step's gradient as the mean over K micro-batches.

`config.optimizer.accumulate_steps = K` trains with the batch of `config.data.batch_size` examples
that a step would see at once, in K micro-batches of batch_size / K run one after another under
`lax.scan`: a step holds the activations of one micro-batch, not of the whole batch. The gradient
(and each logged metric) is the mean over the micro-batches, which equals the whole batch's mean
because the micro-batches are the same size. The optimizer then takes ONE step, so `step`,
num_steps, schedules, logs and checkpoints all count optimizer steps, as without accumulation.

Model state (batch-norm statistics) is threaded through the micro-batches in order: in training
each micro-batch is normalized by its own batch statistics, and the running averages are updated
K times per optimizer step, once per micro-batch (as K smaller steps would update them). So with
batch norm an accumulated step is not the whole-batch step; without it, it is (up to float
rounding).

Which examples form a micro-batch: example j of the batch goes to micro-batch j mod K. The batch
is split over devices on its leading axis in contiguous blocks, so when each device's block is a
multiple of K every micro-batch is split over all devices the same way and nothing moves between
them.
"""

import jax
import jax.numpy as jnp


def split(batch: dict, k: int) -> dict:
  """[B, ...] arrays -> [K, B / K, ...]: micro-batch i holds examples i, i + K, i + 2K, ..."""
  def one(x):
    x = x.reshape((x.shape[0] // k, k) + x.shape[1:])
    return jnp.swapaxes(x, 0, 1)
  return jax.tree.map(one, batch)


def mean_gradients(gradients, state, batch: dict, rng, k: int):
  """(mean grads, model state after the last micro-batch, mean metrics) over K micro-batches.

  gradients(state, batch, rng) -> (grads, model_state, metrics) is the objective's gradient on
  one batch (train/objectives/loss.py); micro-batch i gets the key fold_in(rng, i).
  """
  def micro(carry, inputs):
    total, model_state = carry
    i, part = inputs
    grads, model_state, metrics = gradients(state.replace(model_state=model_state), part,
                                            jax.random.fold_in(rng, i))
    total = jax.tree.map(jnp.add, total, grads)
    return (total, model_state), metrics

  zeros = jax.tree.map(jnp.zeros_like, state.params)
  (total, model_state), metrics = jax.lax.scan(
      micro, (zeros, state.model_state), (jnp.arange(k), split(batch, k)))
  grads = jax.tree.map(lambda g: g / k, total)
  return grads, model_state, jax.tree.map(lambda m: m.mean(0), metrics)
