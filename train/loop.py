"""The loop: config -> mesh -> data -> model and optimizer -> sharding -> restore -> steps -> evals.

`train_and_evaluate(config, workdir)` is the whole engine; `python -m train` only parses flags and
calls it. Every model family goes through this one function: what differs between families lives
in the objective (train/objectives/), never in a branch here.
"""

import collections
import contextlib
import dataclasses
import errno
import json
import logging
import math
import os
import shutil
import time

import jax
import jax.numpy as jnp
import numpy as np
from etils import epath

from train import atomic
from train import checkpoint
from train import compile_cache
from train import config as config_lib
from train import data
from train import host_memory
from train import members as members_lib
from train import metrics as metrics_lib
from train import objectives
from train import optimizer as optimizer_lib
from train import preemption
from train import profile as profile_lib
from train import sharding as sharding_lib
from train import tally
from train import transfer
from train import xla_options as xla_options_lib
from train.errors import UserError

log = logging.getLogger('nnzoo')

# Keys that may change between a run and its resumption without making it a different run.
RESUMABLE_CHANGES = ('num_steps', 'log_every', 'eval_every', 'ckpt_every', 'keep_ckpts', 'plots',
                     'data.prefetch', 'data.data_dir', 'data.device_resident', 'init_from.workdir',
                     'xla_options', 'cpu_devices',   # kernels and devices, not the math
                     'retain_freed_memory', 'host_one_heap', 'profile_steps')


MAX_IN_FLIGHT = 2
STOP_CHECK_EVERY = 10   # steps between multi-process agreements on a stop signal


class NonFiniteError(UserError):
  """The loss or gradient became NaN/Inf."""
  exit_code = 3


def train_and_evaluate(config, workdir, *, overwrite: bool = False, stop_after: int = 0,
                       progress: bool = True) -> dict:
  """Trains `config` in `workdir` (resuming what is there) and returns the summary dict.

  stop_after: if > 0, save a checkpoint and return once this step is reached, as a preempted run
  would (tests use it to compare interrupted and uninterrupted runs).
  SIGTERM/SIGINT at any point: the current step finishes, a checkpoint is written, and the
  function returns normally with summary['preempted'] = True.
  """
  installed_here = not preemption.STOP._old   # __main__ installs it before the heavy imports
  stop = preemption.STOP.install()
  t0 = time.time()
  try:
    with contextlib.ExitStack() as held:   # what the run holds until it ends: the workdir's lock
      summary = _train(config, workdir, overwrite, stop_after, progress, stop, held)
    # A recorded result says how many runs were made for it (experiments.reproduce).
    tally.trained(workdir, time.time() - t0, runs=max(members_lib.count(config), 1))
    return summary
  finally:
    if installed_here:
      stop.restore()
    stop.requested = False


def prepare_host(config) -> None:
  """The process-wide settings of a run (config.cpu_devices, config.retain_freed_memory,
  config.host_one_heap): they take effect only before JAX starts its devices, so a run (or a
  benchmark) makes them first."""
  sharding_lib.use_cpu_devices(sharding_lib.cpu_devices_for(config))
  if config.retain_freed_memory or config.host_one_heap:
    host_memory.retain_freed_memory(one_heap_too=config.host_one_heap)


def _train(config, workdir, overwrite, stop_after, progress, stop, held):
  # --- Config and workdir -------------------------------------------------------------------
  config_lib.validate(config)
  if not config.data.data_dir:   # so config.json says where the data was read
    with config.unlocked():
      config.data.data_dir = data.resolve_data_dir(config.data)
  objectives.resolve_args(config)   # so config.json states every objective argument's value
  prepare_host(config)
  compile_cache.enable()            # before the first compile: a second run reads its programs
  workdir = epath.Path(workdir if '://' in str(workdir) else os.path.abspath(workdir))
  _make_workdir(workdir)
  _lock_workdir(workdir, held)
  _prepare_workdir(config, workdir, overwrite)

  # --- Mesh: all devices of all processes (and a member axis for config.vmap's members) -----------
  mesh = sharding_lib.make_mesh(config.mesh, members=members_lib.count(config))
  batch_sharding = sharding_lib.batch_sharding(mesh)

  # --- Data ------------------------------------------------------------------------------------
  # A batch per member with config.vmap; this process reads the example rows its devices hold.
  pipeline = members_lib.stack(config, data.make_pipeline(config,
                                                          sharding_lib.example_sharding(mesh)))
  first = data.global_batch(pipeline.train_batch(0), batch_sharding)

  # --- Model, optimizer, objective; the state's shapes and where each leaf lives ------------------
  run = build(config, mesh, first)
  objective, schedule, state_sharding = run.objective, run.schedule, run.state_sharding
  _check_state_fits(config, run)

  # --- Init, or resume from the newest readable checkpoint ------------------------------------
  ckpt = checkpoint.Checkpointer(workdir / 'checkpoints', config.keep_ckpts)
  target = jax.tree.map(lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s),
                        run.abstract_state, state_sharding)
  restored = ckpt.restore_latest(target)
  if restored is None:
    state = run.init(first)
    if config.init_from.workdir:   # transfer learning: a fresh run starts from another's weights
      state, _ = transfer.load_into(state, config.init_from)
  else:
    state, meta = restored
    _check_data_position(meta, pipeline, int(state.step))
    log.info('resumed from step %d in %s', int(state.step), ckpt.directory)
  start = int(state.step)
  logged_final_eval = False
  if jax.process_index() == 0:   # metrics logged after this step (by a run killed since) come again
    metrics_lib.truncate_after(workdir, start)
    # A run that had reached its last step (killed while finishing, or run again when done)
    # evaluates again for its summary and pictures; the row is logged once.
    logged_final_eval = start >= config.num_steps and any(
        r['split'] == 'eval' and r['step'] == start for r in metrics_lib.read(workdir))

  # --- The steps: one jit each, explicit shardings, the state donated ---------------------------
  t0 = time.perf_counter()
  train_step = _check_shapes(lambda: run.compiled_train_step(state, first), config, first,
                             'its train step')
  compile_s = time.perf_counter() - t0
  _hint_one_heap(train_step, mesh)
  evaluate = Evaluator(config, run, pipeline)   # its step compiles at the first evaluation

  def shown(state):   # what evaluations and pictures see: the raw parameters or their EMA
    return with_eval_params(config, state)

  def meta(step):
    return {'step': step, 'data': {'next_step': step, 'shuffle_seed': pipeline.shuffle_seed,
                                   'process_count': pipeline.process_count,
                                   'num_train': pipeline.num_train}}

  # --- Loop --------------------------------------------------------------------------------------
  writer = metrics_lib.MetricWriter(workdir, config.num_steps, start, show_progress=progress)
  end = config.num_steps if not stop_after else min(stop_after, config.num_steps)
  if _any_process(stop.requested):   # asked to stop during set-up: the workdir holds this state
    end = start
  batches = pipeline.train_stream(start, end, batch_sharding, config.data.prefetch)
  pending, last_eval, in_flight = [], {}, collections.deque()
  t_log, t_train, s_log = time.perf_counter(), 0.0, start
  step = start
  skipped = 0
  profiler = profile_lib.StepProfiler(config.profile_steps, workdir / 'profile')
  pictures = PlotBudget()
  try:
    for batch in batches:
      with profiler.step(step):
        state, step_metrics = train_step(state, batch)   # asynchronous: no host sync here
      pending.append(step_metrics)
      # Keep at most MAX_IN_FLIGHT steps queued: enough to hide dispatch, and it bounds memory.
      # (Many queued collective programs also deadlock XLA's CPU runtime on fake devices.)
      in_flight.append(step_metrics)
      if len(in_flight) > MAX_IN_FLIGHT:
        jax.block_until_ready(in_flight.popleft())
      step += 1
      profiler.after(step, state)
      done = step == end
      stopping = done or _stop_agreed(stop, step)
      logged = step % config.log_every == 0 or stopping or _due(step, config.ckpt_every)
      if logged:
        # The only host sync between logs: fetch the metrics of the steps since the last one.
        rows = jax.device_get(pending)
        _check_finite(rows, step - len(rows) + 1)
        skipped += int(sum(np.sum(r.get('skipped', 0)) for r in rows))
        now = time.perf_counter()
        t_train += now - t_log
        mean = metrics_lib.mean_of(rows)   # a list per metric for members
        mean.update(logged_schedule(objective, step - 1, float(schedule(step - 1))),
                    steps_per_s=(step - s_log) / (now - t_log),
                    examples_per_s=(step - s_log) * config.data.batch_size / (now - t_log))
        writer.write(step, 'train', mean)
        writer.progress(step, {'loss': mean['loss'], **{k: v for k, v in last_eval.items()
                                                        if k == 'accuracy'}})
        pending, s_log = [], step
      # Due evaluations happen also at a stop (a preempted run's rows then equal an uninterrupted
      # run's); only the last step's is left to the final evaluation below.
      if _due(step, config.eval_every) and step < config.num_steps:
        t_eval = time.perf_counter()
        last_eval = evaluate(shown(state))
        writer.write(step, 'eval', {**last_eval, 'eval_s': round(time.perf_counter() - t_eval, 3)})
        if pictures.due() or stopping:
          pictures.draw(lambda: _write_plots(config, workdir, objective, shown(state), pipeline,
                                             evaluate.tables))
      if _due(step, config.ckpt_every) or stopping:
        ckpt.save(step, state, meta(step), force=True)
      if stopping:
        break
      if logged:  # eval and checkpoint time is not train time
        t_log = time.perf_counter()

    profiler.stop()
    writer.end_progress()
    preempted = step < config.num_steps
    if not preempted:
      t_eval = time.perf_counter()
      last_eval = evaluate(shown(state))
      if not (logged_final_eval and step == start):
        writer.write(step, 'eval', {**last_eval,
                                    'eval_s': round(time.perf_counter() - t_eval, 3)})
      _write_plots(config, workdir, objective, shown(state), pipeline, evaluate.tables)
    ckpt.close()     # waits for the last async save; a failed save raises here
  except BaseException:
    with contextlib.suppress(Exception):
      profiler.stop()
    # Let a save in flight finish (the last good checkpoint stays complete), then re-raise.
    with contextlib.suppress(Exception):
      ckpt.close()
    with contextlib.suppress(Exception):
      writer.close()
    raise
  writer.close()
  summary = {
      'step': step, 'num_steps': config.num_steps, 'preempted': preempted,
      'eval': last_eval, 'skipped_steps': skipped, 'train_time_s': round(t_train, 3),
      'compile_s': round(compile_s, 3),
      'steps_per_s': round((step - start) / t_train, 3) if t_train else None,
      'devices': jax.device_count(), 'processes': jax.process_count(),
      'platform': jax.devices()[0].platform,
      'num_params': int(sum(np.prod(x.shape) for x in jax.tree.leaves(state.params))),
      **members_lib.summary(config, state),   # per member: who, how many parameters
  }
  if jax.process_index() == 0:
    atomic.write(workdir / 'summary.json', json.dumps(summary, indent=2))
    if progress:
      shown = ' '.join(f'eval/{k}={metrics_lib.show(v)}' for k, v in last_eval.items())
      rate = (f'{summary["steps_per_s"]} steps/s' if step > start
              else f'no steps this run: the workdir was at step {start}')
      print(f'nnzoo: {"stopped" if preempted else "done"} at step {step}/{config.num_steps} '
            f'{shown} train {t_train:.1f}s ({rate}) compile '
            f'{compile_s:.1f}s on {jax.device_count()} {summary["platform"]} devices; '
            f'workdir {workdir}', flush=True)
  summary['state'] = state
  # The final evaluation's array-valued sums over the eval split (a population's correct
  # predictions per candidate, a confusion matrix): for callers, not for summary.json.
  summary['eval_tables'] = dict(evaluate.tables)
  return summary


@dataclasses.dataclass
class Run:
  """What a config builds before any step: the objective and its state's shapes and shardings."""
  objective: object
  schedule: object
  rng: jax.Array
  abstract_state: object
  state_sharding: object
  batch_sharding: object
  skip_nonfinite: bool = False
  compiler_options: dict = None   # config.xla_options for this platform (train/xla_options.py)
  pick_options: bool = False      # none in the config: the first compiled step picks them

  def init(self, batch):
    return jax.jit(self.objective.init_state, out_shardings=self.state_sharding)(self.rng, batch)

  @property
  def stacked_batch_sharding(self):
    """K batches stacked on a new leading axis (compiled_multi_step's input): batch axis split."""
    return jax.sharding.NamedSharding(
        self.batch_sharding.mesh, jax.sharding.PartitionSpec(None, *self.batch_sharding.spec))

  def _step_fn(self):
    fn = self.objective.train_step
    return _skipping_nonfinite(fn) if self.skip_nonfinite else fn

  def lowered_train_step(self, state, batch):
    """The train step lowered for these shapes (arrays or ShapeDtypeStructs), the state donated."""
    replicated = sharding_lib.replicated(self.batch_sharding.mesh)
    step = jax.jit(self._step_fn(),
                   in_shardings=(self.state_sharding, self.batch_sharding),
                   out_shardings=(self.state_sharding, replicated), donate_argnums=0)
    return step.lower(state, batch)

  def compiled_train_step(self, state, batch):
    """The train step, compiled ahead of time for these shapes, with the state donated."""
    return self._compile(self.lowered_train_step(state, batch))

  def pick_compiler_options(self, lowered) -> None:
    """The engine's XLA options for this run, from its first lowered step (made once and kept for
    every later step and the eval step); the config's options when it names any."""
    if self.pick_options:
      platform = xla_options_lib.platform_of(self.batch_sharding.mesh)
      self.compiler_options = xla_options_lib.for_step(lowered, platform)
      self.pick_options = False
      if self.compiler_options:
        log.info('XLA options picked for this step: %s', self.compiler_options)

  def _compile(self, lowered):
    """Compiled with the config's XLA options, or the engine's pick for this step."""
    self.pick_compiler_options(lowered)
    return lowered.compile(compiler_options=self.compiler_options)

  def compiled_multi_step(self, state, batches):
    """K train steps in one call: `lax.scan` of the train step over K batches stacked on a new
    leading axis, the state donated; returns (state, the last step's metrics). The same steps as K
    calls of compiled_train_step, one dispatch and no host round trip between them (a lever that
    train.bench measures with --steps-per-call)."""
    mesh = self.batch_sharding.mesh

    def steps(state, batches):
      state, metrics = jax.lax.scan(self._step_fn(), state, batches)
      return state, jax.tree.map(lambda m: m[-1], metrics)
    multi = jax.jit(steps, in_shardings=(self.state_sharding, self.stacked_batch_sharding),
                    out_shardings=(self.state_sharding, sharding_lib.replicated(mesh)),
                    donate_argnums=0)
    return self._compile(multi.lower(state, batches))


def build(config, mesh, batch) -> Run:
  """Model, optimizer and objective from the config; the state's shapes (no FLOPs spent) and a
  placement for every leaf. `batch` is a global batch (arrays or ShapeDtypeStructs)."""
  model = config_lib.build_model(config.model)
  tx, schedule = optimizer_lib.make_optimizer(config.optimizer, config.num_steps,
                                              member_rates=bool(config.vmap.learning_rates))
  objective = objectives.build(config, model, tx)
  # config.vmap: the objective's functions over a member axis (train/members.py); a non-finite
  # step is then skipped per member.
  members = members_lib.count(config)
  objective = members_lib.wrap(config, objective, mesh,
                               _skipping_nonfinite if config.skip_nonfinite else None)
  rng = jax.random.PRNGKey(config.seed)
  abstract = _check_shapes(lambda: jax.eval_shape(objective.init_state, rng, batch), config, batch)
  if config.eval_ema and not optimizer_lib.has_ema(abstract.opt_state):
    raise UserError(f'config.eval_ema=True: objective {config.objective} keeps no optimizer state '
                    f'with a parameter EMA (it takes no optimizer steps); set eval_ema=False')
  state_sharding = sharding_lib.state_shardings(abstract, mesh, config.sharding)
  return Run(objective, schedule, rng, abstract, state_sharding, sharding_lib.batch_sharding(mesh),
             skip_nonfinite=config.skip_nonfinite and not members,
             compiler_options=xla_options_lib.parse(config.xla_options, mesh),
             pick_options=not config.xla_options)


class Evaluator:
  """`evaluator(state)` -> the eval split's mean metrics: the objective's eval_step over every
  eval batch (padding masked), summed on device, divided by the count once. Its step is compiled
  at the first call with the run's XLA options (picked by then: the train step compiles first).
  Also used by `python -m train.evaluate` on a restored state."""

  def __init__(self, config, run, pipeline):
    self.config, self.run, self.pipeline = config, run, pipeline
    self.tables = {}   # the last evaluation's array-valued sums (a confusion matrix): pictures
    self._compiled = None

  def _step(self, state, batch):
    if self._compiled is None:
      run = self.run
      jitted = jax.jit(run.objective.eval_step, in_shardings=(run.state_sharding,
                                                               run.batch_sharding),
                       out_shardings=sharding_lib.replicated(run.batch_sharding.mesh),
                       compiler_options=run.compiler_options)
      self._compiled = _check_shapes(lambda: jitted.lower(state, batch).compile(), self.config,
                                     batch, 'its eval step')
    return self._compiled(state, batch)

  def __call__(self, state) -> dict:
    sums = None
    for local in self.pipeline.eval_batches():
      out = self._step(state, data.global_batch(local, self.run.batch_sharding))
      sums = out if sums is None else jax.tree.map(jnp.add, sums, out)
    sums = jax.device_get(sums)
    count = np.asarray(sums.pop('count'), np.float64)   # [members] in a run of members
    # Array-valued sums (a confusion matrix) are pictures, not metrics: kept for the plots.
    self.tables.clear()
    self.tables.update({k: sums.pop(k) for k in list(sums) if np.ndim(sums[k]) > count.ndim})
    means = {k: (np.asarray(v, np.float64) / count).tolist() for k, v in sums.items()}
    # Metrics that are not means over examples (perplexity = exp(mean loss)) come from the means.
    objective = self.run.objective
    return objective.summarize(means) if hasattr(objective, 'summarize') else means


def with_eval_params(config, state):
  """The state that evaluations and pictures see: with config.eval_ema, its parameters replaced
  by the moving average the optimizer state keeps (train/optimizer.py); the raw state otherwise."""
  if not config.eval_ema:
    return state
  ema = optimizer_lib.ema_params(state.params, state.opt_state)
  # Where the EMA and the parameters are placed alike (sharding rules over paths ending in the
  # parameter's name) this moves nothing; a rule anchored at 'params/' would differ.
  ema = jax.device_put(ema, jax.tree.map(lambda p: p.sharding, state.params))
  return state.replace(params=ema)


def logged_schedule(objective, step: int, lr: float) -> dict:
  """The hyperparameters in force at `step`, as the logs and learning curves show them: the
  optimizer's learning rate, unless the objective follows schedules of its own (a SOM's radius
  and rate) or uses the optimizer only in some steps (an RBF network's fine-tuning)."""
  if hasattr(objective, 'logged_schedule'):
    return objective.logged_schedule(step, lr)
  return {'lr': lr}


def _skipping_nonfinite(train_step):
  """Wraps any objective's step: if a metric is NaN/Inf, keep the old state (the step counter
  still advances, so the data moves on) and report skipped=1."""
  def step(state, batch):
    new, metrics = train_step(state, batch)
    ok = jnp.all(jnp.stack([jnp.all(jnp.isfinite(v)) for v in jax.tree.leaves(metrics)]))
    kept = jax.tree.map(lambda n, o: jnp.where(ok, n, o), new, state)
    metrics = dict(metrics, skipped=1.0 - ok.astype(jnp.float32))
    return kept.replace(step=new.step), metrics
  return step


def _stop_agreed(stop, step) -> bool:
  """A SIGTERM stops every process at the same step. Processes get it at different moments (or
  only one gets it); one that stopped alone would leave its peers waiting in the next step's
  collectives forever. So with several processes the flag is all-gathered every
  STOP_CHECK_EVERY steps, in step order with the train steps, and any process's flag stops all."""
  if jax.process_count() > 1 and step % STOP_CHECK_EVERY:
    return False
  return _any_process(stop.requested)


def _any_process(flag: bool) -> bool:
  """True on every process if it is true on any (the same answer everywhere, so all take the same
  branch; a collective, so every process must call it at the same point)."""
  if jax.process_count() == 1:
    return flag
  from jax.experimental import multihost_utils
  return bool(np.max(multihost_utils.process_allgather(np.int32(flag))))


def _due(step, every):
  return every > 0 and step % every == 0


def changed_keys(saved: dict, config) -> list[str]:
  """The keys in which `config` is a different run from a workdir's saved config.json: keys the
  engine gained after that run was written count as their defaults (the engine then behaved as
  the default does), and RESUMABLE_CHANGES are not differences."""
  defaults = json.loads(config_lib.to_json(config_lib.base_config()))
  saved = _with_objective_args(config_lib.with_defaults(saved, defaults))
  current = _with_objective_args(json.loads(config_lib.to_json(config)))
  return [k for k in config_lib.diff(saved, current) if k not in RESUMABLE_CHANGES]


def _with_objective_args(saved: dict) -> dict:
  """A config dict with the objective arguments it leaves out set to their declared defaults (the
  values a run of it uses), so a config that states them equals one that does not."""
  try:
    config = config_lib.from_saved(saved)
    objectives.resolve_args(config)
  except UserError:   # not a config this code can build: compared as it is
    return saved
  return json.loads(config_lib.to_json(config))


def finished_run(config, workdir) -> dict | None:
  """The summary of a run of this config that finished in `workdir`, or None: a study that is
  run again (or resumed after a kill) reuses the runs it already has."""
  workdir = epath.Path(workdir)
  summary, saved = workdir / 'summary.json', workdir / 'config.json'
  if not (summary.exists() and saved.exists()):
    return None
  done = json.loads(summary.read_text())
  if done.get('preempted') or changed_keys(json.loads(saved.read_text()), config):
    return None
  return done


def _make_workdir(workdir):
  """Process 0 creates the workdir; a path that is (or lies under) a regular file is a one-line
  error, not a FileExistsError."""
  if workdir.exists() and not workdir.is_dir():
    raise UserError(f'--workdir {workdir} is a file, not a directory: name a new or existing '
                    f'directory')
  if jax.process_index() == 0:
    try:
      workdir.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as e:
      raise UserError(f'cannot create --workdir {workdir}: {e.strerror or e} '
                      f'({e.filename or "a parent is a file"})') from None


def _lock_workdir(workdir, held):
  """Process 0 holds `workdir/lock` until the run ends (train/workdir_lock.py); if another live
  run holds it, every process stops here with process 0's one-line error."""
  from train import workdir_lock
  error = None
  if jax.process_index() == 0:
    try:
      held.enter_context(workdir_lock.held(workdir))
    except workdir_lock.WorkdirInUse as e:
      error = e
  if _any_process(error is not None):   # the others must not go on into collectives alone
    raise error or workdir_lock.WorkdirInUse(f'workdir {workdir} is in use by another run (process '
                                             f'0 names it)')


def _prepare_workdir(config, workdir, overwrite):
  """Writes config.json; refuses a workdir that holds a different run unless overwrite."""
  path = workdir / 'config.json'
  if path.exists() and not overwrite:
    changed = changed_keys(json.loads(path.read_text()), config)
    if changed:
      raise UserError(f'workdir {workdir} holds a run of a different config (differs in '
                      f'{", ".join(changed[:6])}); use a new --workdir or pass --overwrite')
  if jax.process_index() == 0:
    _remove_temporaries(workdir)
    if overwrite:
      for name in ('checkpoints', 'metrics.jsonl', 'tensorboard', 'plots', 'summary.json',
                   'profile', 'eval'):
        p = workdir / name
        if p.is_dir():
          shutil.rmtree(p) if not str(p).startswith('gs://') else p.rmtree()
        elif p.exists():
          p.unlink()
    atomic.write(path, config_lib.to_json(config))
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils
    multihost_utils.sync_global_devices('nnzoo_workdir_ready')


def _remove_temporaries(workdir):
  """Whole-file writes (train/atomic.py) of a run killed mid-write leave their temporary file;
  this run holds the workdir's lock, so any there now is such a leftover."""
  for directory in (workdir, workdir / 'plots'):
    if directory.is_dir():
      for path in directory.glob('.*.tmp-*'):
        with contextlib.suppress(OSError):
          path.unlink()


def _check_shapes(fn, config, batch, what='its train state'):
  """Runs `fn` (the shape-only init, or tracing and compiling a step); a model/data/objective
  mismatch becomes one line naming the tensors (an out-of-memory error stays one: __main__ says
  so)."""
  try:
    return fn()
  except Exception as e:  # noqa: BLE001 - any failure to build on these shapes is reported so
    text = str(e)
    if os.environ.get('NNZOO_DEBUG') or isinstance(e, (UserError, MemoryError)) or (
        text.startswith('RESOURCE_EXHAUSTED')):
      raise
    msg = f'{type(e).__name__}: {text.splitlines()[0] if text else ""}'
    inputs = ', '.join(f'{k} {tuple(v.shape)} {v.dtype}' for k, v in batch.items())
    raise UserError(f'model {config.model.name}/{config.model.get("variant", "")} with objective '
                    f'{config.objective} does not fit the batch of {config.data.name} ({inputs}) '
                    f'in {what}: {msg} (NNZOO_DEBUG=1 shows the traceback)') from None


def _hint_one_heap(compiled, mesh) -> None:
  """One line where config.host_one_heap would likely speed this run's steps up (host_memory)."""
  try:
    temp = compiled.memory_analysis().temp_size_in_bytes
  except Exception:  # noqa: BLE001 - backends without a memory analysis
    return
  hint = host_memory.one_heap_hint(temp, xla_options_lib.platform_of(mesh), host_memory.applied,
                                   host_memory.one_heap)
  if hint and jax.process_index() == 0:
    log.info(hint)


def _check_state_fits(config, run) -> None:
  """A train state larger than a device's memory (a model field with a few zeros too many) stops
  before it is allocated, with its size, rather than deep in XLA's allocator or the kernel's
  OOM killer."""
  per_device = 0
  for leaf, sharding in zip(jax.tree.leaves(run.abstract_state),
                            jax.tree.leaves(run.state_sharding)):
    per_device += math.prod(sharding.shard_shape(leaf.shape)) * leaf.dtype.itemsize
  device = jax.local_devices()[0]
  try:
    have = (device.memory_stats() or {}).get('bytes_limit', 0)
  except Exception:  # noqa: BLE001 - backends without memory statistics
    have = 0
  if not have and device.platform == 'cpu':
    have = data.host_memory_bytes() // max(jax.local_device_count(), 1)
  if have and per_device > have:
    raise UserError(f'model {config.model.name}/{config.model.get("variant", "")}: its train state '
                    f'needs {per_device / 2 ** 30:.3g} GiB per device, more than the '
                    f'{have / 2 ** 30:.3g} GiB a device has here: make the model smaller, or shard '
                    f'it (config.sharding.fsdp=True, more devices)')


def _check_data_position(meta, pipeline, step):
  """The data position is the step alone: the global batch of a step does not depend on the
  devices or processes (train/data.py), so a run resumes on any number of them (elastic resume)
  as long as they divide the batch (make_pipeline says so when they do not)."""
  d = meta.get('data', {})
  if d.get('next_step', step) != step:
    raise UserError(f'checkpoint data position {d["next_step"]} does not match its step {step}')


def _check_finite(rows, first_step):
  for i, r in enumerate(rows):
    kept = np.asarray(r.get('skipped', 0)) == 0   # per member in a run of members
    bad = [k for k in ('loss', 'grad_norm') + tuple(r)
           if k in r and np.any(~np.isfinite(np.asarray(r[k], np.float64)) & kept)]
    if bad:
      value = np.asarray(r[bad[0]]).tolist()
      raise NonFiniteError(f'non-finite {bad[0]} ({value}) at step {first_step + i}; '
                           f'the last checkpoint before it is kept. Lower the learning rate or '
                           f'set --config.optimizer.clip_norm')


# Pictures at evaluations before the last take at most this share of the run's time.
PLOT_SHARE = 0.05


class PlotBudget:
  """Whether the pictures are drawn at an evaluation before the last one: when drawing them, at
  the cost the last drawing took (FIRST_GUESS before any), keeps the time spent drawing within
  PLOT_SHARE of the time since the loop started. An epoch of a small model takes a second or two
  and a classifier's pictures ~1 s (matplotlib's layout and PNG; ~2 s the first time, with its
  import), so drawing them at every evaluation took more time than the steps (the Fashion MLP: 5
  epochs of 1.1 s, 15.3 s a run -> 13.7 s with a budget). They are always drawn at the end and at
  a stop; a run whose evaluations are a minute or more apart draws at every one, as before."""

  FIRST_GUESS = 1.0   # seconds: a classifier's three pictures, on a 2-core host

  def __init__(self, share: float = PLOT_SHARE, clock=time.perf_counter):
    self.share, self.spent, self.clock = share, 0.0, clock
    self.expected = self.FIRST_GUESS
    self.start = clock()

  def due(self) -> bool:
    return self.spent + self.expected <= self.share * (self.clock() - self.start)

  def draw(self, fn) -> None:
    t = self.clock()
    fn()
    self.expected = self.clock() - t
    self.spent += self.expected


def _write_plots(config, workdir, objective, state, pipeline, tables):
  """The pictures of this evaluation. A picture never fails a run: each call is guarded, and one
  that raises is skipped with one warning line naming it (train/plots.py says which pictures
  check their data first)."""
  if not config.plots or jax.process_index() != 0:
    return
  from train import plots
  directory = workdir / 'plots'
  directory.mkdir(parents=True, exist_ok=True)
  name = type(objective).__name__
  _draw(directory / 'learning_curves.png',
        lambda: plots.learning_curves(metrics_lib.read(workdir), directory / 'learning_curves.png'))
  if tables and hasattr(objective, 'plot_tables'):   # sums over the whole eval split
    _draw(directory / f'{name}.plot_tables',
          lambda: objective.plot_tables(tables, directory, pipeline.label_names))
  if jax.process_count() == 1:  # objective plots read a whole eval batch on one host
    def pictures():
      batch = next(pipeline.eval_batches())
      objective.plots(state, {k: jnp.asarray(v) for k, v in batch.items()}, directory)
    _draw(directory / f'{name}.plots', pictures)


def _draw(picture, draw):
  from train import plots
  try:
    draw()
  except Exception as e:  # noqa: BLE001 - any failure to draw costs the picture, not the run
    if getattr(e, 'errno', None) == errno.ENOSPC:   # but a full disk is the run's (exit 4)
      raise
    plots.skip(picture, f'{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ""}')
