"""The optax gradient transformation and learning-rate schedule named by `config.optimizer`."""

import re

import jax
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


def make_optimizer(o, num_steps: int) -> tuple[optax.GradientTransformation, optax.Schedule]:
  """Returns (transformation, schedule); the schedule is also used to log the learning rate."""
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
  return tx, schedule


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
