"""Configs: load `experiments/<study>/<name>.py[:arg]`, apply `--config.a.b=value`, validate.

A config is an `ml_collections.ConfigDict` returned by the file's `get_config(arg=None)`. It is
the single source of truth of a run: it is validated here, then written to `workdir/config.json`.
Unknown keys are errors that name the nearest valid ones.
"""

import ast
import difflib
import importlib.util
import json
import math
import os
import re
import sys

import ml_collections

from train import augment
from train import preprocess
from train.errors import UserError

OPTIMIZERS = ('sgd', 'momentum', 'nesterov', 'adam', 'adamw', 'rmsprop')
SCHEDULES = ('constant', 'cosine', 'warmup_cosine', 'exponential', 'linear')


def base_config() -> ml_collections.ConfigDict:
  """Every key the engine reads, with its default. Experiments start from this."""
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.objective = 'classification'
  c.num_steps = 1000            # optimizer steps
  c.log_every = 50              # train metrics -> metrics.jsonl, TensorBoard, progress bar
  c.eval_every = 500            # 0: only at the end
  c.ckpt_every = 500            # 0: only at the end (and on SIGTERM)
  c.keep_ckpts = 3
  c.plots = True                # PNGs in workdir/plots at evals (<= 5% of the time) and the end
  c.skip_nonfinite = False      # NaN/Inf step: False = stop (naming step and quantity);
                                # True = skip it
  # XLA compiler options for this run's compiled steps, 'name=value' each (a speed lever, never
  # the math); xla_cpu_* / xla_gpu_* / xla_tpu_* ones apply only on that platform. Empty: the
  # engine picks them from the step (train/xla_options.py: on a CPU, convolutions to XLA's own
  # kernels); any entry replaces that pick.
  c.xla_options = ()
  # Split this host's CPU into N JAX devices (one per core is the useful N) so the batch is
  # data-parallel over them: XLA:CPU runs most kernels of one step on one core at a time, so two
  # devices keep two cores busy. A speed lever, never the math (the batch mean is the same);
  # 0 = JAX's default (one CPU device); -1 = the engine's pick (train/sharding.py
  # cpu_devices_for: 2 for Transformers and fused RNNs on a host of >= 2 cores, else 0). Ignored
  # on GPU/TPU hosts, when XLA_FLAGS already sets --xla_force_host_platform_device_count, and
  # once JAX has started its devices.
  c.cpu_devices = -1
  # Keep freed host memory for reuse (glibc settings, train/host_memory.py): XLA:CPU's per-step
  # temporary block is then not mapped and page-faulted in afresh every step (the Fashion 2-conv
  # net: 9-17% faster; never slower in the runs measured). Set before JAX starts its devices.
  c.retain_freed_memory = True
  # And every thread on one heap: for steps whose temporaries exceed the 64 MB a thread's own heap
  # holds (the bench transformer and capsnet: 10% faster); small models lose ~10% (one lock).
  c.host_one_heap = False
  # Evaluate (and draw) the exponential moving average of the parameters that the optimizer keeps
  # when optimizer.ema_decay > 0, instead of the raw parameters.
  c.eval_ema = False
  # (START, STOP): a jax.profiler trace of the train steps that take the state from step START to
  # step STOP, written to workdir/profile/ (TensorBoard's profile plugin or Perfetto read it).
  # () = off.
  c.profile_steps = ()

  # Model: `name` picks the family in models/, `variant` a row of its table; the other keys
  # override fields of that row. Model keys are checked against the module's fields.
  c.model = ml_collections.ConfigDict({'name': 'cnn', 'variant': 'small'})

  c.data = ml_collections.ConfigDict()
  c.data.name = 'nnzoo_digits'  # any TFDS name; nnzoo_* are built offline on first use
  c.data.data_dir = ''          # '' -> $NNZOO_DATA_DIR or ~/.cache/nnzoo/tensorflow_datasets
  c.data.train_split = 'train'
  c.data.eval_split = 'test'
  # A second train-time stream, e.g. 'train[50%:]' (with train_split 'train[:50%]'): each train
  # batch then also holds a batch of it under 'val_'-prefixed keys, for bilevel objectives (DARTS).
  c.data.val_split = ''
  c.data.batch_size = 128       # global, over all processes and devices
  c.data.eval_batch_size = 0    # 0 -> batch_size
  c.data.cache = True           # decode the split once into host memory (small data sets)
  c.data.prefetch = 2           # threads preparing batches ahead (grain ReadOptions)
  c.data.device_resident = True  # the cached train split on the devices when it fits; batches
                                 # gathered there (train/data.py); False: from the host
  c.data.shuffle_seed = -1      # -1 -> seed
  c.data.classes = ()           # keep only these labels (relabelled 0..k-1 in this order)
  c.data.per_class = 0          # > 0: only the first N train examples of each class
  c.data.label_key = 'label'
  # Input steps applied to each example as it is read, in order (train/preprocess.py), e.g.
  # ('tokenize_bytes(key="text", out="tokens", length=129, bos=True, mask="loss_mask")',).
  c.data.preprocess = ()
  # Train-time augmentation of the train split's batches, in order (train/augment.py), e.g.
  # ('random_crop(pad=2)', 'flip_left_right()', 'rotate(degrees=10)'); each takes key='image'.
  # Applied after uint8 -> [0, 1] (a crop's padding and a rotation's fill are 0) and before
  # mean/std; never to eval or 'val_' batches. Each example's draws are a function of (seed,
  # step, its place in the global batch): resumes are exact, any process count sees the same.
  c.data.augment = ()
  # Per-channel normalization (x - mean) / std of the float 'image', last, on train and eval
  # batches alike; e.g. Fashion-MNIST's (0.2860,) and (0.3530,). () = off.
  c.data.mean = ()
  c.data.std = ()

  c.optimizer = ml_collections.ConfigDict()
  c.optimizer.name = 'adam'
  c.optimizer.learning_rate = 1e-3
  c.optimizer.momentum = 0.9    # sgd momentum / nesterov
  c.optimizer.b1 = 0.9
  c.optimizer.b2 = 0.999
  c.optimizer.eps = 1e-8
  c.optimizer.weight_decay = 0.0
  c.optimizer.clip_norm = 0.0   # global-norm clipping; 0 = off
  c.optimizer.schedule = 'constant'
  c.optimizer.warmup_steps = 0
  c.optimizer.decay_rate = 0.1  # exponential: lr * decay_rate ** (step / decay_steps)
  c.optimizer.decay_steps = 0   # 0 -> num_steps
  c.optimizer.end_factor = 0.0  # cosine / linear: final lr = learning_rate * end_factor
  # Which parameters train, by regex over their path ('Conv_0/kernel'): frozen ones get zero
  # updates (optax.set_to_zero); `train_only` freezes everything it does not match (a linear
  # probe is train_only=('Dense_2',)); lr_multipliers scale the update of matching parameters.
  c.optimizer.freeze = ()
  c.optimizer.train_only = ()
  c.optimizer.lr_multipliers = ()   # ((regex, factor), ...), first match wins
  # Gradient accumulation: each optimizer step takes the mean gradient of K micro-batches of
  # batch_size / K examples, run one after another (activation memory of one micro-batch).
  # `step`, num_steps, schedules, logs and checkpoints count optimizer steps.
  c.optimizer.accumulate_steps = 1
  # > 0: the optimizer state also keeps an exponential moving average of the parameters,
  # ema <- decay * ema + (1 - decay) * params after each step (checkpointed and sharded like the
  # parameters); config.eval_ema evaluates it. 0 = off.
  c.optimizer.ema_decay = 0.0

  # Transfer learning: start from another run's parameters (fresh runs only; a workdir with
  # checkpoints resumes from them). Parameters whose path matches `load` and not `reinit` are
  # taken from the source (same path after `rename`); shapes must agree.
  c.init_from = ml_collections.ConfigDict()
  c.init_from.workdir = ''      # a run's workdir (its checkpoints/) or a checkpoints directory
  c.init_from.step = -1         # -1: the newest
  c.init_from.load = ('.*',)
  c.init_from.reinit = ()       # e.g. ('^Dense_2/',): a new head for a new class count
  c.init_from.rename = ()       # ((regex, replacement), ...) from our path to the source's

  # Devices: a Mesh over all of them. -1 takes what is left.
  c.mesh = ml_collections.ConfigDict({'data': -1, 'model': 1})
  # Parameter (and optimizer-state) placement: (regex over the leaf's path, spec) pairs,
  # first match wins, spec is a tuple of mesh axes or None per dimension. Unmatched leaves
  # are replicated, or FSDP-sharded over 'data' when fsdp is on.
  c.sharding = ml_collections.ConfigDict()
  c.sharding.rules = ()
  c.sharding.fsdp = False
  c.sharding.fsdp_min_size = 1024

  c.objective_args = ml_collections.ConfigDict()  # objective-specific knobs

  # Members: N copies of the model trained side by side in one compiled step (train/members.py),
  # vmapped over a leading axis of the train state. Member i trains as the run with
  # seed=seeds[i] and optimizer.learning_rate=learning_rates[i] would (its own init, dropout and
  # data order); a tuple of one entry is used for every member, an empty one means config.seed
  # (config.optimizer.learning_rate). Both empty: off.
  c.vmap = ml_collections.ConfigDict()
  c.vmap.seeds = ()
  c.vmap.learning_rates = ()
  return c


def load(spec: str) -> ml_collections.ConfigDict:
  """Loads `path.py` or `path.py:arg` and returns its `get_config(arg)`."""
  path, _, arg = spec.partition(':')
  if not os.path.isfile(path):
    raise UserError(f'config file {path!r} not found (expected experiments/<study>/<name>.py)')
  try:
    module = load_config_module(path)
  except SyntaxError as e:   # the user's file: where and what, not the importer's traceback
    # (the error may be in a module the config imports: then that file is named)
    elsewhere = e.filename and os.path.abspath(e.filename) != os.path.abspath(path)
    where = e.filename if elsewhere else path
    raise UserError(f'{where} line {e.lineno}: {e.msg}') from None
  if not hasattr(module, 'get_config'):
    raise UserError(f'{path} has no get_config() function')
  try:
    config = module.get_config(arg) if arg else module.get_config()
  except (TypeError, ValueError) as e:   # an argument the config does not take
    raise UserError(f'{path}: get_config({arg!r}) failed: {e}') from None
  check_keys(config, base_config())
  config.lock()
  return config


def from_json(text: str) -> ml_collections.ConfigDict:
  """The config that a run wrote to its workdir's config.json, locked, for tools that read a
  finished run (train.explain). Keys the engine gained since that run keep their defaults (the run
  behaved as the default does); JSON's lists become tuples again, as configs write them."""
  try:
    saved = json.loads(text)
  except ValueError as e:
    raise UserError(f'config.json is not JSON ({e})') from None
  if not isinstance(saved, dict):
    raise UserError('config.json does not hold a config (a JSON object)')
  config = base_config()
  _fill(config, saved)
  config.lock()
  return config


def _fill(node, saved: dict) -> None:
  for key, value in saved.items():
    if isinstance(value, dict) and isinstance(node.get(key), ml_collections.ConfigDict) and (
        key not in ('model', 'objective_args', 'mesh')):
      _fill(node[key], value)
    elif isinstance(value, dict):   # a section whose keys are the run's own: taken whole
      node[key] = ml_collections.ConfigDict(_tuples(value))
    else:
      node[key] = _tuples(value)


def _tuples(value):
  if isinstance(value, list):
    return tuple(_tuples(v) for v in value)
  if isinstance(value, dict):
    return {k: _tuples(v) for k, v in value.items()}
  return value


def load_config_module(path):
  """The experiment config file at `path` as a module (its get_config, get_record, measure)."""
  name = 'nnzoo_config_' + os.path.splitext(os.path.basename(path))[0]
  spec = importlib.util.spec_from_file_location(name, path)
  module = importlib.util.module_from_spec(spec)
  sys.modules[name] = module
  spec.loader.exec_module(module)
  return module


def flat_keys(config, prefix='') -> list[str]:
  keys = []
  for k, v in config.items():
    keys.append(prefix + k)
    if isinstance(v, ml_collections.ConfigDict):
      keys += flat_keys(v, prefix + k + '.')
  return keys


def nearest(key: str, candidates) -> str:
  """Up to three valid keys a mistyped one most likely meant."""
  candidates = list(candidates)
  section, _, leaf = key.rpartition('.')
  siblings = [c for c in candidates if c.rpartition('.')[0] == section]

  def initials(name):  # 'learning_rate' -> 'lr'
    return ''.join(w[0] for w in name.rpartition('.')[2].split('_') if w)

  close = [c for c in siblings if initials(c) == leaf or c.rpartition('.')[2].startswith(leaf)]
  close += difflib.get_close_matches(key, candidates, n=3, cutoff=0.5)
  close = list(dict.fromkeys(close))[:3]
  return ', '.join(close) if close else '(none close; see the config file)'


def check_keys(config, reference, free=('model', 'objective_args')):
  """Every key of `config` outside the free sections must exist in `reference`."""
  valid = flat_keys(reference)
  for key in flat_keys(config):
    if key.split('.')[0] in free and '.' in key:
      continue
    if key not in valid:
      raise UserError(f'unknown config key {key!r}; nearest valid keys: {nearest(key, valid)}')


def apply_overrides(config, overrides: list[str]) -> None:
  """Applies `--config.a.b=value` strings; values are Python literals or bare strings."""
  valid = flat_keys(config)
  for item in overrides:
    body = item[len('--config.'):]
    if '=' not in body:
      raise UserError(f'override {item!r} needs a value: --config.{body}=VALUE')
    key, raw = body.split('=', 1)
    if key not in valid and key.startswith('model.') and key.count('.') == 1:
      _add_model_field(config, key[len('model.'):], raw, item)
      continue
    if key not in valid and key.startswith('objective_args.') and key.count('.') == 1:
      _add_objective_arg(config, key[len('objective_args.'):], raw, item)
      continue
    if key not in valid:
      raise UserError(f'unknown config key {key!r} in {item!r}; '
                      f'nearest valid keys: {nearest(key, valid)}')
    *parents, leaf = key.split('.')
    node = config
    for p in parents:
      node = node[p]
    old = node[leaf]
    new = _parse_value(raw, old, key)
    with config.unlocked():
      node[leaf] = new


def build_model(model_config):
  """models.build(model_config); a config error there is the engine's one-line UserError."""
  import models
  try:
    return models.build(model_config)
  except models.ConfigError as e:
    raise UserError(str(e)) from None


def _add_model_field(config, field, raw, item):
  """`--config.model.dropout=0.5` may set any field of the model's module, not only listed ones."""
  import models
  try:
    allowed = models.fields(config.model)
  except models.ConfigError as e:
    raise UserError(str(e)) from None
  if field not in allowed:
    close = nearest(field, allowed)
    if not close.startswith('('):
      close = ', '.join('model.' + k for k in close.split(', '))
    raise UserError(f"unknown config key 'model.{field}' in {item!r}; nearest valid keys: {close}")
  try:
    value = ast.literal_eval(raw)
  except (ValueError, SyntaxError):
    value = raw
  if field == 'dtype':   # one of models.DTYPES, said in one line
    try:
      models.check_dtype(value)
    except models.ConfigError as e:
      raise UserError(str(e)) from None
  with config.unlocked():
    config.model[field] = value


# A value of each kind of objective argument, for parsing one whose default is derived.
_EXAMPLE = {float: 0.0, int: 0, bool: False, str: '', tuple: ()}


def _add_objective_arg(config, name, raw, item):
  """`--config.objective_args.recon_weight=0` may set any argument the objective declares."""
  from train import objectives
  from train.objectives import arguments
  declared = arguments.declared(objectives.objective_class(config))
  if name not in declared:
    close = nearest(f'objective_args.{name}', [f'objective_args.{k}' for k in declared])
    raise UserError(f"unknown config key 'objective_args.{name}' in {item!r}; nearest valid "
                    f'keys: {close}')
  arg = declared[name]
  kind_of = _EXAMPLE.get(arg.kind, raw) if callable(arg.default) else arg.default
  value = _parse_value(raw, kind_of, f'objective_args.{name}')
  with config.unlocked():
    config.objective_args[name] = value


def _parse_value(raw: str, old, key: str):
  try:
    value = ast.literal_eval(raw)
  except (ValueError, SyntaxError):
    value = raw
  if isinstance(old, bool):
    if isinstance(value, str) and value.lower() in ('true', 'false'):
      value = value.lower() == 'true'
    if not isinstance(value, bool):
      raise UserError(f'config key {key!r} expects true/false, got {raw!r}')
  elif isinstance(old, int) and not isinstance(old, bool):
    if not isinstance(value, int) or isinstance(value, bool):
      if isinstance(value, float) and value.is_integer():
        value = int(value)
      else:
        raise UserError(f'config key {key!r} expects an integer, got {raw!r}')
  elif isinstance(old, float):
    if isinstance(value, str) and value.strip().lower().lstrip('+-') in ('nan', 'inf', 'infinity'):
      value = float(value)   # not a literal, but a value someone may mean: validate() judges it
    if isinstance(value, bool) or not isinstance(value, (int, float)):
      raise UserError(f'config key {key!r} expects a number, got {raw!r}')
    value = float(value)
  elif isinstance(old, str):
    value = raw  # strings stay verbatim: '--config.data.name=mnist'
  elif isinstance(old, (tuple, list)):
    if not isinstance(value, (tuple, list)):
      value = (value,)
    value = type(old)(value)
  elif isinstance(old, ml_collections.ConfigDict):
    raise UserError(f'config key {key!r} is a section; set one of its keys, '
                    f'e.g. --config.{key}.{next(iter(old.keys()), "KEY")}=VALUE')
  return value


def validate(config) -> None:
  """Checks values the engine relies on, before anything is compiled: a hostile value (wrong type,
  negative, huge, NaN, a tuple where a scalar goes) stops here with one line naming the key."""
  o = config.optimizer
  if o.name not in OPTIMIZERS:
    raise UserError(f'config.optimizer.name={o.name!r} is not one of {", ".join(OPTIMIZERS)}')
  if o.schedule not in SCHEDULES:
    raise UserError(f'config.optimizer.schedule={o.schedule!r} is not one of '
                    f'{", ".join(SCHEDULES)}')
  for key in ('num_steps', 'log_every', 'keep_ckpts'):
    if config[key] <= 0:
      raise UserError(f'config.{key} must be positive, got {config[key]}')
  for key in ('eval_every', 'ckpt_every'):
    if config[key] < 0:
      raise UserError(f'config.{key} must be 0 (only at the end) or positive, got {config[key]}')
  if not 0 <= config.seed < 2 ** 32:
    raise UserError(f'config.seed must be in [0, 2**32), got {config.seed}')
  if not -1 <= config.data.shuffle_seed < 2 ** 32:
    raise UserError(f'config.data.shuffle_seed must be -1 (config.seed) or in [0, 2**32), got '
                    f'{config.data.shuffle_seed}')
  if not -1 <= config.cpu_devices <= MAX_CPU_DEVICES:
    raise UserError(f'config.cpu_devices must be -1 (the engine\'s pick), 0 (JAX\'s default) or a '
                    f'device count up to {MAX_CPU_DEVICES}, got {config.cpu_devices}')
  d = config.data
  if d.batch_size <= 0:
    raise UserError(f'config.data.batch_size must be positive, got {d.batch_size}')
  for key in ('eval_batch_size', 'prefetch', 'per_class'):
    if d[key] < 0:
      raise UserError(f'config.data.{key} must be 0 or positive, got {d[key]}')
  if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in d.classes) or (
      len(set(d.classes)) != len(d.classes)):
    raise UserError(f'config.data.classes={tuple(d.classes)} must be distinct labels (integers '
                    f'>= 0), or () for all')
  for key in ('name', 'data_dir', 'train_split', 'eval_split', 'val_split', 'label_key'):
    if not isinstance(d[key], str):
      raise UserError(f'config.data.{key}={d[key]!r} must be a string')
  if not d.name:
    raise UserError('config.data.name is empty: name a TFDS data set (e.g. nnzoo_digits)')
  preprocess.compose(d.preprocess)   # a misspelt input step fails here, not mid-run
  augment.compose(d.augment, config.seed)   # so does an augment step
  mean, std = tuple(d.mean), tuple(d.std)
  if len(mean) != len(std) or not all(_is_number(v) for v in mean + std):
    raise UserError(f'config.data.mean={mean} and config.data.std={std} need one number per '
                    f'channel each (or both empty)')
  if not all(0 < v < float('inf') for v in std):
    raise UserError(f'config.data.std={std} must be positive (and finite)')
  if not all(math.isfinite(v) for v in mean):
    raise UserError(f'config.data.mean={mean} must be finite')
  for key in ('learning_rate', 'momentum', 'b1', 'b2', 'eps', 'weight_decay', 'clip_norm',
              'decay_rate', 'end_factor'):
    if not math.isfinite(o[key]):
      raise UserError(f'config.optimizer.{key} must be a finite number, got {o[key]}')
  for key in ('warmup_steps', 'decay_steps'):
    if o[key] < 0:
      raise UserError(f'config.optimizer.{key} must be 0 or positive, got {o[key]}')
  if o.accumulate_steps < 1 or d.batch_size % o.accumulate_steps:
    raise UserError(f'config.optimizer.accumulate_steps={o.accumulate_steps} must be a positive '
                    f'divisor of config.data.batch_size={d.batch_size} (micro-batches of '
                    f'batch_size / accumulate_steps examples)')
  if not 0 <= o.ema_decay < 1:
    raise UserError(f'config.optimizer.ema_decay must be in [0, 1) (0 = off), got {o.ema_decay}')
  if config.eval_ema and not o.ema_decay:
    raise UserError('config.eval_ema=True evaluates the parameters\' moving average: set '
                    'config.optimizer.ema_decay too (e.g. 0.999)')
  _check_profile_steps(config.profile_steps, config.num_steps)
  _check_members(config)
  _check_patterns('optimizer.freeze', o.freeze)
  _check_patterns('optimizer.train_only', o.train_only)
  _check_pairs('optimizer.lr_multipliers', o.lr_multipliers, _is_finite_number, 'a number')
  i = config.init_from
  if not isinstance(i.workdir, str):
    raise UserError(f'config.init_from.workdir={i.workdir!r} must be a path')
  if i.step < -1:
    raise UserError(f'config.init_from.step must be -1 (the newest) or a step, got {i.step}')
  _check_patterns('init_from.load', i.load)
  _check_patterns('init_from.reinit', i.reinit)
  _check_pairs('init_from.rename', i.rename, lambda r: isinstance(r, str), 'a replacement string')
  for axis, size in config.mesh.items():
    if not isinstance(size, int) or isinstance(size, bool) or not (size == -1 or size > 0):
      raise UserError(f'config.mesh.{axis}={size!r} must be a positive device count or -1 (what '
                      f'the other axes leave)')
  _check_pairs('sharding.rules', config.sharding.rules,
               lambda spec: spec is None or (isinstance(spec, (tuple, list)) and all(
                   _is_axes(a, config.mesh) for a in spec)),
               f'a tuple with one mesh axis ({", ".join(config.mesh)}), tuple of axes or None per '
               f'dimension')
  if config.sharding.fsdp_min_size < 0:
    raise UserError(f'config.sharding.fsdp_min_size must be 0 or positive, got '
                    f'{config.sharding.fsdp_min_size}')
  if not all(isinstance(x, str) for x in config.xla_options):
    raise UserError(f'config.xla_options={tuple(config.xla_options)!r} must be strings '
                    f'"xla_<option>=<value>"')


MAX_CPU_DEVICES = 1024


def _check_members(config):
  seeds, rates = config.vmap.seeds, config.vmap.learning_rates
  if not isinstance(seeds, (tuple, list)) or not all(
      _is_int(s) and 0 <= s < 2 ** 32 for s in seeds):
    raise UserError(f'config.vmap.seeds={seeds!r} must be a tuple of seeds (integers in '
                    f'[0, 2**32)), or () for none')
  if not isinstance(rates, (tuple, list)) or not all(
      _is_finite_number(r) and r > 0 for r in rates):
    raise UserError(f'config.vmap.learning_rates={rates!r} must be a tuple of positive numbers, '
                    f'or () for none')
  if len(seeds) > 1 and len(rates) > 1 and len(seeds) != len(rates):
    raise UserError(f'config.vmap.seeds has {len(seeds)} entries and config.vmap.learning_rates '
                    f'{len(rates)}: give both one per member (or one of them a single entry)')
  if rates and not config.optimizer.learning_rate > 0:
    raise UserError(f'config.vmap.learning_rates scales each member\'s updates by its rate over '
                    f'config.optimizer.learning_rate, which must then be positive, got '
                    f'{config.optimizer.learning_rate}')
  if (seeds or rates) and 'member' in config.mesh:
    raise UserError("config.mesh.member: the member axis is made by config.vmap (its size is what "
                    "the devices and the member count share); leave it out of config.mesh")


def _is_int(v) -> bool:
  return isinstance(v, int) and not isinstance(v, bool)


def _check_profile_steps(steps, num_steps):
  if isinstance(steps, (tuple, list)) and not steps:
    return
  ok = (isinstance(steps, (tuple, list)) and len(steps) == 2 and
        all(isinstance(s, int) and not isinstance(s, bool) for s in steps))
  if not ok or not 0 <= steps[0] < steps[1] <= num_steps:
    shown = tuple(steps) if isinstance(steps, (tuple, list)) else steps
    raise UserError(f'config.profile_steps={shown!r} must be (START, STOP) with 0 <= START < STOP '
                    f'<= num_steps ({num_steps}), or () for none')


def _check_patterns(key, patterns):
  """A tuple of regular expressions over parameter paths."""
  if isinstance(patterns, str):
    patterns = (patterns,)
  for p in patterns:
    if not isinstance(p, str):
      raise UserError(f'config.{key}={tuple(patterns)!r}: {p!r} is not a regular expression '
                      f'(a string)')
    try:
      re.compile(p)
    except re.error as e:
      raise UserError(f'config.{key}: {p!r} is not a valid regular expression: {e}') from None


def _check_pairs(key, pairs, second_ok, second_is):
  """((regex, value), ...): each entry a pair, its first a regular expression."""
  for pair in pairs:
    if not isinstance(pair, (tuple, list)) or len(pair) != 2 or not second_ok(pair[1]):
      raise UserError(f'config.{key}={tuple(pairs)!r}: each entry must be a pair (regex, '
                      f'{second_is}), got {pair!r}')
    _check_patterns(key, (pair[0],))


def _is_axes(axes, mesh) -> bool:
  names = tuple(mesh.keys())
  if axes is None:
    return True
  if isinstance(axes, str):
    return axes in names
  return isinstance(axes, (tuple, list)) and all(isinstance(a, str) and a in names for a in axes)


def _is_finite_number(v) -> bool:
  return _is_number(v) and math.isfinite(v)


def _is_number(v) -> bool:
  return isinstance(v, (int, float)) and not isinstance(v, bool)


def to_json(config) -> str:
  return json.dumps(config.to_dict(), indent=2, sort_keys=True, default=_json_default)


def _json_default(x):
  if isinstance(x, tuple):
    return list(x)
  return str(x)


def with_defaults(saved: dict, defaults: dict) -> dict:
  """A saved config.json's dict with the keys the engine gained after it was written added as
  their defaults (the engine then behaved as the default does)."""
  out = dict(saved)
  for k, v in defaults.items():
    if k not in out:
      out[k] = v
    elif isinstance(v, dict) and isinstance(out[k], dict) and k not in ('model', 'objective_args'):
      out[k] = with_defaults(out[k], v)
  return out


def from_saved(saved: dict) -> ml_collections.ConfigDict:
  """A run's config.json (as a dict) back as the config it was: JSON's lists as tuples again,
  keys added to the engine since as their defaults. Unlocked, so overrides may follow."""
  def tuples(x):
    if isinstance(x, dict):
      return {k: tuples(v) for k, v in x.items()}
    if isinstance(x, list):
      return tuple(tuples(v) for v in x)
    return x
  merged = with_defaults(saved, json.loads(to_json(base_config())))
  return ml_collections.ConfigDict(tuples(merged))


def diff(a: dict, b: dict, prefix='') -> list[str]:
  """Dotted keys whose values differ between two config dicts."""
  out = []
  for k in sorted(set(a) | set(b)):
    va, vb = a.get(k), b.get(k)
    if isinstance(va, dict) and isinstance(vb, dict):
      out += diff(va, vb, prefix + k + '.')
    elif not _same(va, vb):
      out.append(prefix + k)
  return out


def _same(a, b) -> bool:
  """==, but NaN equals NaN (a config with a NaN in it is the same run when resumed)."""
  if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
    return True
  if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
    return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
  return a == b
