"""Orbax checkpoints of the train state plus a small JSON of run metadata (data position, ...).

Saves are asynchronous (training goes on while the previous step is written). Restore walks the
saved steps newest first: an unreadable step (truncated file, crash mid-write) is reported with
its number, moved aside to `checkpoints/<step>.unreadable`, and the previous step is used.
"""

import logging
import os

import jax
import numpy as np
import orbax.checkpoint as ocp
from etils import epath

log = logging.getLogger('nnzoo')


class Checkpointer:

  def __init__(self, directory, keep: int, async_save: bool = True):
    self.directory = epath.Path(directory)
    self._keep, self._async = keep, async_save
    self._manager = self._open()

  def _open(self):
    options = ocp.CheckpointManagerOptions(
        max_to_keep=self._keep, create=True, enable_async_checkpointing=self._async)
    return ocp.CheckpointManager(self.directory, options=options)

  def steps(self) -> list[int]:
    return sorted(self._manager.all_steps())

  def save(self, step: int, state, meta: dict, force: bool = False) -> bool:
    args = ocp.args.Composite(state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta))
    return self._manager.save(step, args=args, force=force)

  def restore_latest(self, abstract_state):
    """Returns (state, meta) from the newest readable step, or None if there is none."""
    bad = []
    for step in reversed(self.steps()):
      try:
        restored = self._manager.restore(step, args=ocp.args.Composite(
            state=ocp.args.StandardRestore(abstract_state), meta=ocp.args.JsonRestore()))
      except Exception as e:  # noqa: BLE001 - any failure to read means: try the previous step
        reason = f'{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ""}'
        log.warning('checkpoint step %d in %s is unreadable (%s); falling back to the previous '
                    'step', step, self.directory, reason)
        bad.append(step)
        continue
      if bad:
        self._set_aside(bad)
      return restored.state, dict(restored.meta)
    if bad:
      self._set_aside(bad)
    return None

  def _set_aside(self, steps):
    """Moves unreadable steps out of orbax's way, so the run can save those steps again."""
    self._manager.wait_until_finished()
    if jax.process_index() == 0:
      for step in steps:
        src = self.directory / str(step)
        dst = self.directory / f'{step}.unreadable'
        if dst.exists():
          dst.rmtree()
        src.rename(dst)
        log.warning('moved unreadable checkpoint step %d to %s', step, dst)
    if jax.process_count() > 1:
      from jax.experimental import multihost_utils
      multihost_utils.sync_global_devices('nnzoo_set_aside_checkpoints')
    self._manager.close()
    self._manager = self._open()

  def wait(self):
    self._manager.wait_until_finished()

  def close(self):
    if self._manager is not None:
      manager, self._manager = self._manager, None
      manager.wait_until_finished()
      manager.close()


def restore(directory, abstract_state, step: int | None = None):
  """(step, state, meta) of step `step` (None: the newest) restored into `abstract_state`'s
  shapes and shardings, whatever topology wrote it: orbax reads each array into this process's
  placement (a run saved from 8 devices restores onto 1). Read only: nothing is saved, moved or
  deleted. FileNotFoundError names what is missing."""
  directory = directory if '://' in str(directory) else os.path.abspath(directory)
  handlers = {'state': ocp.StandardCheckpointHandler(), 'meta': ocp.JsonCheckpointHandler()}
  if not epath.Path(directory).exists():
    raise FileNotFoundError(f'no checkpoints directory {directory}')
  options = ocp.CheckpointManagerOptions(read_only=True)
  with ocp.CheckpointManager(epath.Path(directory), item_handlers=handlers,
                             options=options) as manager:
    steps = sorted(manager.all_steps())
    step = (steps[-1] if steps else None) if step is None else step
    if step not in steps:
      raise FileNotFoundError(f'no checkpoint of step {step} in {directory} (steps: '
                              f'{", ".join(map(str, steps)) or "none"})')
    restored = manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(abstract_state), meta=ocp.args.JsonRestore()))
  return step, restored.state, dict(restored.meta)


def read_state(directory, step: int | None = None):
  """(step, state as a pytree of numpy arrays) from a run's checkpoints, whatever topology (devices,
  processes) wrote it; `step=None` is the newest. For inspection, tests and transfer learning."""
  one = jax.sharding.SingleDeviceSharding(jax.devices()[0])
  directory = directory if '://' in str(directory) else os.path.abspath(directory)  # orbax needs it
  handlers = {'state': ocp.StandardCheckpointHandler(), 'meta': ocp.JsonCheckpointHandler()}
  with ocp.CheckpointManager(epath.Path(directory), item_handlers=handlers) as manager:
    step = manager.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError(f'no checkpoint in {directory}')
    meta = manager.item_metadata(step)['state']
    target = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=one), meta)
    restored = manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(target)))
  return step, jax.tree.map(np.asarray, restored.state)
