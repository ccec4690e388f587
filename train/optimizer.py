"""The optax gradient transformation and learning-rate schedule named by `config.optimizer`."""

import re
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from train.sharding import path_str


def make_schedule(o, num_steps: int) -> optax.Schedule:
  lr, warm = o.learning_rate, o.warmup_steps
  decay_steps = o.decay_steps or num_steps
  if o.schedule == 'constant':
    main = optax.constant_schedule(lr)
  elif o.schedule in ('cosine', 'warmup_cosine'):
    main = optax.cosine_decay_schedule(lr, max(decay_steps - warm, 1), alpha=o.end_factor)
  elif o.schedule == 'exponential':
    main = optax.exponential_decay(lr, transition_steps=decay_steps, decay_rate=o.decay_rate)
  elif o.schedule == 'linear':
    main = optax.linear_schedule(lr, lr * o.end_factor, max(decay_steps - warm, 1))
  else:
    raise ValueError(o.schedule)
  if warm:
    return optax.join_schedules([optax.linear_schedule(0.0, lr, warm), main], [warm])
  return main


def make_optimizer(o, num_steps: int, member_rates: bool = False
                   ) -> tuple[optax.GradientTransformation, optax.Schedule]:
  """Returns (transformation, schedule); the schedule is also used to log the learning rate.

  member_rates: the chain also scales the final updates by a factor kept in its state
  (`member_lr_scale`), which a run of members with their own learning rates sets per member.
  """
  schedule = make_schedule(o, num_steps)
  if o.name == 'sgd':
    tx = optax.sgd(schedule)
  elif o.name == 'momentum':
    tx = optax.sgd(schedule, momentum=o.momentum)
  elif o.name == 'nesterov':
    tx = optax.sgd(schedule, momentum=o.momentum, nesterov=True)
  elif o.name == 'adam':
    tx = optax.adam(schedule, b1=o.b1, b2=o.b2, eps=o.eps)
  elif o.name == 'adamw':
    tx = optax.adamw(schedule, b1=o.b1, b2=o.b2, eps=o.eps, weight_decay=o.weight_decay)
  elif o.name == 'rmsprop':
    tx = optax.rmsprop(schedule, eps=o.eps, momentum=o.momentum)
  else:
    raise ValueError(o.name)
  chain = []
  if o.clip_norm:
    chain.append(optax.clip_by_global_norm(o.clip_norm))
  if o.weight_decay and o.name != 'adamw':  # L2 on the gradient, as in the SGD papers
    chain.append(optax.add_decayed_weights(o.weight_decay))
  tx = optax.chain(*chain, tx)
  if o.freeze or o.train_only or o.lr_multipliers:
    tx = _by_parameter(tx, o)
  if member_rates:   # before the EMA, which must see the updates the step applies
    tx = optax.chain(tx, member_lr_scale())
  if o.get('ema_decay', 0.0):
    tx = optax.chain(tx, parameter_ema(o.ema_decay))
  return tx, schedule


class LrScaleState(NamedTuple):
  """The factor a member's updates are scaled by: its learning rate over the config's."""
  scale: Any


def member_lr_scale() -> optax.GradientTransformation:
  """Multiplies the updates by the factor in its state (1 at init; set per member afterwards).

  Scaling the final updates by lr_i / lr is training with learning rate lr_i when the updates are
  linear in the learning rate: true of every chain make_optimizer builds. Each optimizer ends with
  optax's learning-rate scaling, or (rmsprop with momentum) a momentum trace after it, which is
  linear too; clipping and L2 decay act on the gradient before it; lr multipliers and freezing
  scale after it; every schedule is the learning rate times a function of the step. Held in the
  state, so a checkpoint holds each member's factor and a resumed run keeps it.
  """
  def init(params):
    del params
    return LrScaleState(scale=jnp.ones((), jnp.float32))

  def update(updates, state, params=None):
    del params
    return jax.tree.map(lambda u: u * state.scale.astype(u.dtype), updates), state

  return optax.GradientTransformation(init, update)


def with_lr_scale(opt_state, scale):
  """`opt_state` with every member_lr_scale factor in it set to `scale` (a GAN's two optimizer
  states each have one); the number of factors set is `count_lr_scales`."""
  return jax.tree.map(lambda x: LrScaleState(scale=jnp.asarray(scale, jnp.float32))
                      if isinstance(x, LrScaleState) else x, opt_state,
                      is_leaf=lambda x: isinstance(x, LrScaleState))


def count_lr_scales(opt_state) -> int:
  return sum(isinstance(x, LrScaleState) for x in jax.tree.leaves(
      opt_state, is_leaf=lambda x: isinstance(x, LrScaleState)))


class EmaState(NamedTuple):
  """The moving average of the parameters, a tree like them (so sharding rules over parameter
  paths place it as they place the parameters, and checkpoints hold it)."""
  ema: Any


def parameter_ema(decay: float) -> optax.GradientTransformation:
  """Passes the updates through unchanged and keeps ema <- decay * ema + (1 - decay) * new params.

  Last in the chain, it sees the final updates, so params + updates are the parameters the step
  leaves. Kept in the optimizer state rather than beside it: every objective that owns an
  optimizer state (a GAN's two, DARTS' weights) gets an EMA with no change of its own, and the
  checkpoint and sharding paths need none either. It starts at the initial parameters.
  """
  def init(params):
    return EmaState(ema=jax.tree.map(lambda p: p.copy(), params))

  def update(updates, state, params=None):
    if params is None:
      raise ValueError('parameter_ema needs the parameters: call update(updates, state, params)')
    new = optax.apply_updates(params, updates)
    return updates, EmaState(ema=optax.incremental_update(new, state.ema, 1.0 - decay))

  return optax.GradientTransformation(init, update)


def has_ema(opt_state) -> bool:
  """Whether any optimizer state in `opt_state` keeps a parameter EMA."""
  return any(isinstance(x, EmaState) for x in jax.tree.leaves(
      opt_state, is_leaf=lambda x: isinstance(x, EmaState)))


def ema_params(params, opt_state):
  """`params` with every group whose optimizer state keeps an EMA replaced by that EMA.

  One optimizer state for all parameters (a chain ending in EmaState) gives the whole tree; an
  objective with several parameter groups keeps {group: optimizer state} beside {group: params}
  (a GAN's 'g' and 'd'), and each group with an EMA gets its own; others stay raw (DARTS' alpha,
  which its own optimizer updates).
  """
  if isinstance(opt_state, tuple) and opt_state and isinstance(opt_state[-1], EmaState):
    return opt_state[-1].ema
  if isinstance(params, dict) and isinstance(opt_state, dict):
    return {k: ema_params(v, opt_state[k]) if k in opt_state else v for k, v in params.items()}
  return params


def _by_parameter(tx, o):
  """Frozen parameters get zero updates and keep no optimizer state; others get `tx`, with their
  update scaled where an lr multiplier matches. Groups are chosen by regex over the path."""
  freeze = [re.compile(p) for p in o.freeze]
  train_only = [re.compile(p) for p in o.train_only]
  multipliers = [(re.compile(p), float(f)) for p, f in o.lr_multipliers]

  def label(path):
    name = path_str(path)
    if any(p.search(name) for p in freeze) or (train_only and
                                                not any(p.search(name) for p in train_only)):
      return 'frozen'
    for i, (p, _) in enumerate(multipliers):
      if p.search(name):
        return f'lr{i}'
    return 'train'

  transforms = {'frozen': optax.set_to_zero(), 'train': tx}
  for i, (_, factor) in enumerate(multipliers):
    transforms[f'lr{i}'] = optax.chain(tx, optax.scale(factor))
  return optax.multi_transform(
      transforms, lambda params: jax.tree_util.tree_map_with_path(lambda p, _: label(p), params))
