"""Members: N copies of any model trained side by side in one compiled step (config.vmap).

`config.vmap.seeds=(0, 1, 2)` (and/or `config.vmap.learning_rates=(...)`) makes the run's
objective `Members(objective)`: its init_state, train_step and eval_step are the objective's,
vmapped over a leading member axis of the train state and of every batch. Member i starts from
PRNGKey(seeds[i]) as the run with that seed does, draws its dropout from its own state's key, and
reads its own data order (the pipeline stacks each member's batch, drawn with its seed as the
shuffle and augmentation seed unless config.data.shuffle_seed fixes one for all), so it trains as
that run would, to float rounding (vmapped kernels may sum in another order). The loop does not
know: the state is one pytree (checkpointed and resumed as any), metrics come back with a leading
member axis, and the metric writer makes one row per member (`member` field in metrics.jsonl,
`tensorboard/member<i>/`). Evaluations report a value per member; pictures show member 0.

Per-member learning rates scale each member's updates by lr_i / config.optimizer.learning_rate, a
factor kept in its optimizer state (train/optimizer.py: member_lr_scale says why that is training
with lr_i for every optimizer and schedule the engine builds).

Placement: the mesh gets a 'member' axis of its own (train/sharding.py), beside 'data' and the
tensor-parallel 'model' axis, so members compose with both; each member's leaves are placed by
the config's sharding rules as a single run's are. The NAS `population` objective is the other way
to train many networks at once: one model whose parameters carry a candidate axis and whose loss is
the sum of the candidates' (it shares the batch, and refuses global-norm clipping, which would
couple them). Members need neither: each member's step is the whole step, clipping included, on its
own batch, for any model; a population objective can itself be vmapped as members.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np

from train import optimizer as optimizer_lib
from train import sharding as sharding_lib
from train.errors import UserError
from train.state import TrainState

# Where the member axis is in a train state: first in every leaf but the step, which the members
# share (they take their steps together), so the loop, checkpoints and logs count steps as in any
# run.
_AXES = TrainState(step=None, params=0, opt_state=0, model_state=0, rng=0)


def count(config) -> int:
  """How many members the config trains together; 0 when config.vmap is off."""
  seeds, rates = config.vmap.seeds, config.vmap.learning_rates
  return max(len(seeds), len(rates)) if (seeds or rates) else 0


def specs(config) -> list[dict]:
  """[{'member': i, 'seed': s, 'learning_rate': lr}] of each member, in order ([] when off)."""
  n = count(config)
  seeds = tuple(config.vmap.seeds) or (config.seed,)
  rates = tuple(config.vmap.learning_rates) or (config.optimizer.learning_rate,)
  return [{'member': i, 'seed': int(seeds[i if len(seeds) > 1 else 0]),
           'learning_rate': float(rates[i if len(rates) > 1 else 0])} for i in range(n)]


def member_config(config, i: int):
  """The config of the single run that member i trains as."""
  spec = specs(config)[i]
  config = config.copy_and_resolve_references()
  with config.unlocked():
    config.seed = spec['seed']
    config.optimizer.learning_rate = spec['learning_rate']
    config.vmap.seeds, config.vmap.learning_rates = (), ()
  return config


def refusal(config) -> str | None:
  """Why this config cannot run as members, or None."""
  if config.init_from.workdir:
    return ('config.vmap with config.init_from: members start from their own seeds\' '
            'initialization; train them one run each')
  return None


def wrap(config, objective, mesh, guard=None):
  """`objective` itself when config.vmap is off; Members over it otherwise. guard: a wrapper of
  the objective's train_step applied per member (skipping a non-finite step)."""
  if not count(config):
    return objective
  why = refusal(config)
  if why:
    raise UserError(why)
  if sharding_lib.MEMBER_AXIS not in mesh.axis_names:
    raise UserError('this tool does not run configs with config.vmap (members); run one member '
                    'at a time (config.vmap.seeds=())')
  return Members(objective, specs(config), config.optimizer.learning_rate,
                 rates=bool(config.vmap.learning_rates), guard=guard)


class Members:
  """An objective's functions vmapped over a leading member axis (the objective contract in
  train/objectives/__init__.py, with every state leaf, batch array and metric one per member)."""

  def __init__(self, inner, member_specs, learning_rate, rates=False, guard=None):
    self.inner, self.specs = inner, member_specs
    self.seeds = [s['seed'] for s in member_specs]
    self.scales = [s['learning_rate'] / learning_rate for s in member_specs]
    self.rates = rates   # whether the optimizer state holds each member's lr factor
    self._step = guard(inner.train_step) if guard else inner.train_step

  def init_state(self, rng, batch):
    """Member i starts from PRNGKey(seeds[i]), as the run with that seed does; `rng` (the run's
    config.seed) is not used."""
    del rng
    keys = jnp.stack([jax.random.PRNGKey(s) for s in self.seeds])
    scales = jnp.asarray(self.scales, jnp.float32)

    def one(key, member_batch, scale):
      state = self.inner.init_state(key, member_batch)
      if self.rates:
        if not optimizer_lib.count_lr_scales(state.opt_state):
          raise UserError(f'config.vmap.learning_rates: objective {type(self.inner).__name__} '
                          f'keeps no optimizer state that config.optimizer.learning_rate acts on')
        state = state.replace(opt_state=optimizer_lib.with_lr_scale(state.opt_state, scale))
      return state
    return jax.vmap(one, out_axes=_AXES)(keys, batch, scales)

  def train_step(self, state, batch):
    return jax.vmap(self._step, in_axes=(_AXES, 0), out_axes=(_AXES, 0))(state, batch)

  def eval_step(self, state, batch):
    return jax.vmap(self.inner.eval_step, in_axes=(_AXES, 0))(state, batch)

  def summarize(self, means: dict) -> dict:
    """Each member's means through the objective's own summarize (lists of one value each)."""
    if not hasattr(self.inner, 'summarize'):
      return means
    rows = [self.inner.summarize(_member(means, i)) for i in range(len(self.specs))]
    return {k: [r[k] for r in rows] for k in rows[0]}

  def logged_schedule(self, step: int, lr: float) -> dict:
    rows = []
    for scale in self.scales:
      if hasattr(self.inner, 'logged_schedule'):
        rows.append(self.inner.logged_schedule(step, lr * scale))
      else:
        rows.append({'lr': lr * scale})
    return _same_or_each(rows)

  def plots(self, state, batch, directory):
    """Member 0's pictures."""
    first = jax.tree.map(lambda x: x[0], state.replace(step=None)).replace(step=state.step)
    return self.inner.plots(first, {k: v[0] for k, v in batch.items()}, directory)

  def plot_tables(self, tables, directory, label_names=()):
    if not hasattr(self.inner, 'plot_tables'):
      return []
    return self.inner.plot_tables({k: v[0] for k, v in tables.items()}, directory, label_names)


def _member(values: dict, i: int) -> dict:
  return {k: v[i] if isinstance(v, (list, tuple)) else v for k, v in values.items()}


def _same_or_each(rows: list[dict]) -> dict:
  """{name: [each row's value]}, or the one value where every row has the same (a learning rate
  that the members share is logged once)."""
  out = {}
  for k in rows[0]:
    values = [r[k] for r in rows]
    out[k] = values[0] if all(v == values[0] for v in values) else values
  return out


def stack(config, pipeline):
  """`pipeline` itself when config.vmap is off; one that stacks the members' batches otherwise."""
  if not count(config):
    return pipeline
  return MemberPipeline(config, pipeline)


class MemberPipeline:
  """A data pipeline (train/data.py) whose every batch has a leading member axis: member i's train
  batch is the one the run with its seed reads at that step; eval batches are the same for all.
  Everything else is the pipeline's."""

  def __init__(self, config, pipeline):
    import dataclasses
    from train import augment as augment_lib
    d = config.data
    self._base = pipeline
    seeds = [s['seed'] if d.shuffle_seed < 0 else d.shuffle_seed for s in specs(config)]
    self._order = seeds
    # Members with the same seed (learning rates apart) read the same batches: made once.
    self._streams = {s: dataclasses.replace(pipeline, shuffle_seed=s,
                                            augment=augment_lib.compose(d.augment, s))
                     for s in dict.fromkeys(seeds)}
    self.members = len(seeds)

  def __getattr__(self, name):
    return getattr(self._base, name)

  def train_batch(self, step: int) -> dict:
    batches = {s: p.train_batch(step) for s, p in self._streams.items()}
    first = batches[self._order[0]]
    return {k: np.stack([batches[s][k] for s in self._order]) for k in first}

  def train_stream(self, start, stop, sharding, threads: int = 2):
    from train import data   # members' batches are stacked on the host
    return data.host_stream(self, start, stop, sharding, threads)

  def eval_batches(self):
    for batch in self._base.eval_batches():
      yield {k: np.broadcast_to(v, (self.members,) + np.shape(v)) for k, v in batch.items()}


def summary(config, state) -> dict:
  """The summary's fields of a member run: who each member is, parameters per member."""
  if not count(config):
    return {}
  return {'members': specs(config),
          'num_params': int(sum(math.prod(x.shape[1:]) for x in jax.tree.leaves(state.params)))}
