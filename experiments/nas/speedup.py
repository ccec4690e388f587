"""python -m experiments.nas.speedup [--candidates 32] [--steps 100] [--batch 32] [--sizes ...]

Parallel candidates against one-by-one training: the same architectures (a fixed random sample
of the MLP space), the same batches, the same Adam steps, timed two ways:

  sequential   each architecture its own SpaceMLP, its own jitted step (one compile per shape),
               trained for `steps` steps, one after the other;
  population   all of them as one PopulationMLP: one jitted, vmapped step trains every candidate.

Prints wall time with and without compilation, and the speed-up. Both sides are plain jitted
steps over batches already in memory (no input pipeline, no checkpoints), so the ratio is the
step's; the final losses of both are printed (same training, different init draws).

`--sizes` also times one population step at each population size: on a CPU the cost per
candidate grows once the population's parameters and Adam moments leave the caches, so a CPU
host is best fed chunks of ~100 candidates; on accelerators the whole population is one step.
"""

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from experiments.nas import make_table
from models import nas_mlp


def make_step(model, tx):
  def step(params, opt_state, variables, x, y):
    def loss_fn(p):
      logits = model.apply({'params': p, **variables}, x)
      labels = jnp.broadcast_to(y, logits.shape[:-1])     # [B] or [P, B]
      ce = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
      return ce.mean(-1).sum(), ce.mean(-1)   # candidates' losses add: each gets its own gradient
    (_, losses), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, losses
  return jax.jit(step, donate_argnums=(0, 1))


def train(model, batches, rng):
  """(seconds including compile, seconds of steps after the first, CPU seconds of this process
  including compile, final losses)."""
  tx = optax.adam(make_table.LEARNING_RATE)
  c0 = time.process_time()
  t0 = time.perf_counter()
  variables = dict(model.init(rng, batches[0][0]))
  params = variables.pop('params')
  opt_state = tx.init(params)
  step = make_step(model, tx)
  params, opt_state, losses = step(params, opt_state, variables, *batches[0])
  jax.block_until_ready(losses)
  t1 = time.perf_counter()
  for x, y in batches[1:]:
    params, opt_state, losses = step(params, opt_state, variables, x, y)
  jax.block_until_ready(losses)
  t2 = time.perf_counter()
  return t2 - t0, t2 - t1, time.process_time() - c0, np.asarray(losses)


def time_population_step(archs, batch, repeats):
  """(wall s, CPU s) of one population step, after compilation."""
  model = nas_mlp.PopulationMLP(archs=archs)
  variables = dict(model.init(jax.random.key(0), batch[0]))
  params = variables.pop('params')
  tx = optax.adam(make_table.LEARNING_RATE)
  opt_state = tx.init(params)
  step = make_step(model, tx)
  params, opt_state, losses = step(params, opt_state, variables, *batch)
  jax.block_until_ready(losses)
  t, c = time.perf_counter(), time.process_time()
  for _ in range(repeats):
    params, opt_state, losses = step(params, opt_state, variables, *batch)
  jax.block_until_ready(losses)
  return (time.perf_counter() - t) / repeats, (time.process_time() - c) / repeats


def main(argv=None):
  parser = argparse.ArgumentParser(prog='python -m experiments.nas.speedup', description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--candidates', type=int, default=32)
  parser.add_argument('--steps', type=int, default=100)
  parser.add_argument('--batch', type=int, default=make_table.BATCH)
  parser.add_argument('--sizes', default='', help='population sizes to time one step of, e.g. '
                      '32,128,1000 (skips the sequential comparison)')
  args = parser.parse_args(argv)
  rng = np.random.default_rng(0)
  archs = [nas_mlp.from_index(int(i)) for i in rng.choice(1000, args.candidates, replace=False)]
  arrays = make_table.read_split(make_table.config(), make_table.TRAIN_SPLIT)
  idx = rng.integers(0, len(arrays['label']), (args.steps, args.batch))
  batches = [(jnp.asarray(arrays['image'][i]), jnp.asarray(arrays['label'][i])) for i in idx]
  if args.sizes:
    for size in (int(s) for s in args.sizes.split(',')):
      archs = [nas_mlp.from_index(int(i)) for i in rng.choice(1000, size, replace=False)]
      wall, cpu = time_population_step(archs, batches[0], max(5, 2000 // size))
      print(f'population {size:5d}: {wall * 1e3:8.2f} ms/step ({cpu * 1e3:.2f} CPU ms), '
            f'{wall / size * 1e3:.3f} ms per candidate-step', flush=True)
    return

  seq_total = seq_steps = seq_cpu = 0.0
  seq_losses = []
  for arch in archs:
    total, steps, cpu, losses = train(nas_mlp.SpaceMLP(arch=arch), batches, jax.random.key(0))
    seq_total, seq_steps, seq_cpu = seq_total + total, seq_steps + steps, seq_cpu + cpu
    seq_losses.append(float(losses))
  pop_total, pop_steps, pop_cpu, pop_losses = train(nas_mlp.PopulationMLP(archs=archs), batches,
                                                    jax.random.key(0))
  # Different init draws, the same training: the final losses agree in distribution, not bitwise.
  print(f'{args.candidates} candidates x {args.steps} Adam steps, batch {args.batch}, '
        f'{jax.device_count()} {jax.devices()[0].platform} device(s)')
  print(f'  sequential: {seq_total:8.2f} s with compile ({seq_cpu:.2f} CPU s), {seq_steps:8.2f} s '
        f'of steps (mean final loss {np.mean(seq_losses):.3f})')
  print(f'  population: {pop_total:8.2f} s with compile ({pop_cpu:.2f} CPU s), {pop_steps:8.2f} s '
        f'of steps (mean final loss {np.mean(pop_losses):.3f})')
  print(f'  speed-up: {seq_total / pop_total:.1f}x with compile ({seq_cpu / pop_cpu:.1f}x in CPU '
        f'time), {seq_steps / pop_steps:.1f}x steps only')


if __name__ == '__main__':
  main()
