"""The shared shape of gradient-trained objectives: per-example loss -> mean -> grad -> optax.

A subclass says how the model is called on a batch (`forward`) and what each example's loss and
metrics are (`per_example`); init, train step and masked eval are the same for all of them.
"""

import jax
import jax.numpy as jnp
import optax

from train import accumulate
from train.objectives.arguments import Arg
from train.objectives.arguments import resolve
from train.state import TrainState


def float32(outputs):
  """The model's outputs with their floating leaves in float32: a model that computes in bfloat16
  (config.model.dtype) has its losses, their softmaxes and its metrics taken in float32."""
  return jax.tree.map(
      lambda a: a.astype(jnp.float32) if jnp.issubdtype(a.dtype, jnp.floating) else a, outputs)


class LossObjective:
  ARGS = {
      'input_key': Arg('image', str),   # the batch key the model is called on
      # Further batch keys the model takes as keyword arguments, e.g. ('lengths',) for sequences
      # of variable length: model(batch[input_key], lengths=batch['lengths'], train=...).
      'extra_inputs': Arg((), tuple),
  }
  # The step is `gradients` then one optimizer update, so it can take its gradient over
  # micro-batches (config.optimizer.accumulate_steps, train/accumulate.py).
  accumulates = True

  def __init__(self, config, model, tx):
    self.config, self.model, self.tx = config, model, tx
    a = resolve(config, type(self), model)
    self.input_key = a.input_key
    self.extra_inputs = tuple(a.extra_inputs)

  # -- what subclasses define ------------------------------------------------------------------
  def per_example(self, outputs, batch) -> tuple[jax.Array, dict]:
    """(loss per example [B], {metric name: value per example [B]})."""
    raise NotImplementedError

  def train_losses(self, outputs, batch, step) -> tuple[jax.Array, dict]:
    """per_example while training at `step` (traced): an objective whose loss follows a schedule
    (the capsule spread loss's margin) overrides it."""
    del step
    return self.per_example(outputs, batch)

  def model_kwargs(self, batch) -> dict:
    return {k: batch[k] for k in self.extra_inputs}

  def forward(self, variables, batch, train, rngs, mutable):
    return self.model.apply(variables, batch[self.input_key], train=train, rngs=rngs,
                            mutable=mutable, **self.model_kwargs(batch))

  def plots(self, state, batch, directory):
    return []

  def shown_outputs(self, state, batch, count: int):
    """(the batch's first `count` examples, the model's eval-mode outputs on them): what a picture
    of predictions shows, computed for those examples only (not op by op over a whole eval batch)
    by one compiled forward, kept for the run's later pictures."""
    shown = jax.tree.map(lambda a: a[:count], batch)
    if getattr(self, '_shown_forward', None) is None:
      self._shown_forward = jax.jit(lambda variables, b: self.forward(
          variables, b, train=False, rngs={}, mutable=False))
    return shown, self._shown_forward({'params': state.params, **state.model_state}, shown)

  # -- the contract ----------------------------------------------------------------------------
  def init_state(self, rng, batch) -> TrainState:
    params_rng, dropout_rng, base = jax.random.split(rng, 3)
    variables = self.model.init({'params': params_rng, 'dropout': dropout_rng},
                                batch[self.input_key], train=False, **self.model_kwargs(batch))
    variables = dict(variables)
    params = variables.pop('params')
    return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                      opt_state=self.tx.init(params), model_state=variables, rng=base)

  def gradients(self, state: TrainState, batch, rng):
    """(grads of the mean loss over `batch` w.r.t. state.params, the new model state, the batch's
    mean metrics including 'loss'). The part of a step that gradient accumulation repeats."""
    def loss_fn(params):
      outputs, new_model_state = self.forward(
          {'params': params, **state.model_state}, batch, train=True,
          rngs={'dropout': rng}, mutable=list(state.model_state))
      losses, metrics = self.train_losses(float32(outputs), batch, state.step)
      return losses.mean(), (metrics, new_model_state)

    (loss, (metrics, model_state)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    metrics = {k: v.mean() for k, v in metrics.items()}
    metrics['loss'] = loss
    return grads, dict(model_state), metrics

  def train_step(self, state: TrainState, batch):
    rng = jax.random.fold_in(state.rng, state.step)
    k = self.config.optimizer.get('accumulate_steps', 1)
    if k > 1:
      grads, model_state, metrics = accumulate.mean_gradients(self.gradients, state, batch, rng, k)
    else:
      grads, model_state, metrics = self.gradients(state, batch, rng)
    updates, opt_state = self.tx.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    metrics = dict(metrics, grad_norm=optax.global_norm(grads))
    new = state.replace(step=state.step + 1, params=params, opt_state=opt_state,
                        model_state=model_state)
    return new, metrics

  def eval_step(self, state: TrainState, batch):
    outputs = float32(self.forward({'params': state.params, **state.model_state}, batch,
                                   train=False, rngs={}, mutable=False))
    losses, metrics = self.per_example(outputs, batch)
    mask = batch['mask']
    sums = {k: (v * mask).sum() for k, v in metrics.items()}
    sums.update(loss=(losses * mask).sum(), count=mask.sum(), **self.eval_tables(outputs, batch))
    return sums

  def eval_tables(self, outputs, batch) -> dict:
    """Array-valued sums over the eval split (padding has batch['mask'] 0), e.g. a confusion
    matrix: not averaged or logged; the loop gives their totals to `plot_tables`."""
    return {}
