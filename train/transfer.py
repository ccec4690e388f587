"""Transfer learning: fill a fresh train state with parameters from another run's checkpoint.

`config.init_from` names the source run and which parameter subtrees to load (regex over paths
like 'Conv_0/kernel'), which to re-initialize (a new head), and how our paths map to the source's.
Model state (batch-norm statistics) follows the same rules, matched against its path inside its
collection ('BatchNorm_0/mean'), so a layer's statistics come with its parameters. A shape mismatch
is an error naming the parameter and both shapes; a parameter the rules want but the source lacks
is an error too.
"""

import logging
import re

import jax
from etils import epath

from train import checkpoint
from train.errors import UserError
from train.sharding import path_str

log = logging.getLogger('nnzoo')


def source_dir(workdir: str) -> epath.Path:
  path = epath.Path(workdir)
  return path / 'checkpoints' if (path / 'checkpoints').exists() else path


def load_into(state, init_from):
  """Returns `state` with params/model_state replaced from the source where the rules say."""
  src = source_dir(init_from.workdir)
  try:
    step, source = checkpoint.read_state(src, None if init_from.step < 0 else init_from.step)
  except (FileNotFoundError, ValueError, KeyError) as e:
    raise UserError(f'config.init_from.workdir={init_from.workdir!r}: no readable checkpoint '
                    f'({str(e).splitlines()[0]})') from None
  load = [re.compile(p) for p in init_from.load]
  reinit = [re.compile(p) for p in init_from.reinit]
  rename = [(re.compile(p), r) for p, r in init_from.rename]
  flat = {path_str(p): leaf for p, leaf in jax.tree_util.tree_leaves_with_path(
      {'params': source['params'], 'model_state': source.get('model_state', {})})}
  loaded, kept = [], []

  def one(prefix):
    def fill(path, leaf):
      name = path_str(path)
      # Model state is {collection: {layer path: ...}}: the rules see 'BatchNorm_0/mean', not
      # 'batch_stats/BatchNorm_0/mean', so the rule that loads a layer's parameters loads its
      # statistics too (anchored rules like '^BatchNorm_0/' would otherwise miss them silently).
      collection, rule_name = ('', name)
      if prefix == 'model_state' and '/' in name:
        collection, rule_name = name.split('/', 1)
      if not any(p.search(rule_name) for p in load) or any(p.search(rule_name) for p in reinit):
        kept.append(name)
        return leaf
      src_name = rule_name
      for pattern, replacement in rename:
        src_name = pattern.sub(replacement, src_name)
      src_name = f'{collection}/{src_name}' if collection else src_name
      key = f'{prefix}/{src_name}'
      if key not in flat:
        raise UserError(f'init_from: parameter {name} ({src_name} in the source) is not in the '
                        f'checkpoint of {init_from.workdir} (step {step}); exclude it with '
                        f'config.init_from.reinit or map it with config.init_from.rename')
      value = flat[key]
      if tuple(value.shape) != tuple(leaf.shape):
        raise UserError(f'init_from: shape mismatch for {name}: '
                        f'this model has {tuple(leaf.shape)}, '
                        f'the checkpoint of {init_from.workdir} has {tuple(value.shape)} '
                        f'(add it to config.init_from.reinit to start it fresh)')
      loaded.append(name)
      return jax.device_put(value.astype(leaf.dtype), leaf.sharding)
    return fill

  params = jax.tree_util.tree_map_with_path(one('params'), state.params)
  model_state = jax.tree_util.tree_map_with_path(one('model_state'), state.model_state)
  log.info('init_from %s step %d: loaded %d arrays, kept %d fresh (%s)', init_from.workdir, step,
           len(loaded), len(kept), ', '.join(kept[:6]))
  # The optimizer state was made for the fresh parameters; with zero moments it fits any values.
  return state.replace(params=params, model_state=model_state), {'loaded': loaded, 'fresh': kept}
