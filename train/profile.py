"""`config.profile_steps = (START, STOP)`: a jax.profiler trace of the train steps that take the
state from step START to step STOP, written to `workdir/profile/`.

The trace is XLA's profiler output (`plugins/profile/<time>/<host>.xplane.pb`, which TensorBoard's
profile plugin reads, and `perfetto_trace.json.gz`, which https://ui.perfetto.dev opens). Each
step is one `train` event numbered as metrics.jsonl numbers it (the step the state reaches), so
the step-time view lines up with the logs. The trace is stopped only after the last traced step's
state is ready: steps are dispatched asynchronously, and without that wait their device work would
fall outside it. Process 0 traces (several processes on one host would write the same file); a
resumed run traces what is left of the window.
"""

import contextlib
import logging

import jax

log = logging.getLogger('nnzoo')


class StepProfiler:

  def __init__(self, steps, directory):
    self.window = tuple(steps) if steps and jax.process_index() == 0 else None
    self.directory = directory
    self.tracing = False

  def step(self, step: int):
    """Context of the train step that takes the state from `step` to step + 1."""
    if self.window and not self.tracing and self.window[0] <= step < self.window[1]:
      self.directory.mkdir(parents=True, exist_ok=True)
      jax.profiler.start_trace(str(self.directory), create_perfetto_trace=True)
      self.tracing = True
    if not self.tracing:
      return contextlib.nullcontext()
    return jax.profiler.StepTraceAnnotation('train', step_num=step + 1)

  def after(self, step: int, state) -> None:
    """Called once the state has reached `step`: stops the trace at the window's end."""
    if self.tracing and step >= self.window[1]:
      jax.block_until_ready(state)
      self.stop()

  def stop(self) -> None:
    if self.tracing:
      self.tracing = False
      jax.profiler.stop_trace()
      log.info('profile of steps %d-%d written to %s', *self.window, self.directory)
