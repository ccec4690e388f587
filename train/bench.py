"""python -m train.bench --workload {mlp,cnn,...,peak} [--steps N] [--input-only]
   python -m train.bench --time-to 0.91 --config experiments/fashion/cnn2.py [--max-epochs 8]

Times the engine's own compiled train step (the same `train.loop.build` path a run takes) on
synthetic in-memory batches and prints one JSON line: median step seconds over the timed steps
after warm-up, compile seconds, examples/s, analytic FLOPs per step (forward matmul/conv FLOPs x 3)
and achieved GFLOP/s. `--workload peak` measures the f32 matmul peak that the others are compared
with; `--input-only` times the workload's real data path instead of the step. `--time-to` times a
whole `python -m train` run of a config to a test accuracy (train/time_to_accuracy.py).

Workload shapes are those of the PyTorch reference (../shared/torch-reference): change them only
together with the reference.
"""

import argparse
import dataclasses
import json
import os
import platform
import resource
import shlex
import statistics
import sys
import time
from typing import Callable

import numpy as np


@dataclasses.dataclass(frozen=True)
class Workload:
  config: Callable[[], object]        # engine config: model, objective, optimizer (Adam 1e-3)
  batch: Callable[..., dict]          # (seed, config) -> one synthetic global batch (numpy)
  forward_flops: Callable[..., int]   # config -> analytic matmul/conv FLOPs of one forward pass
  data: Callable[[], object] = None   # config whose data section is the real data path


def _fixed(fn):
  """A batch or FLOPs function of a workload whose shapes do not follow config overrides."""
  return lambda *args: fn(*args[:-1])


def _mm(m, k, n):
  return 2 * m * k * n


def _conv(b, ho, wo, co, ci, kh, kw):
  return 2 * b * ho * wo * co * ci * kh * kw


def _base(model_name, variant, batch, **model):
  from train.config import base_config
  c = base_config()
  c.model.name, c.model.variant = model_name, variant
  with c.model.unlocked():
    for k, v in model.items():
      c.model[k] = v
  c.data.batch_size = batch
  c.optimizer.name, c.optimizer.learning_rate = 'adam', 1e-3
  return c


def _images(b, hw, classes=10):
  def make(seed):
    rng = np.random.default_rng(seed)
    return {'image': rng.random((b, hw, hw, 1), dtype=np.float32),
            'label': rng.integers(0, classes, size=(b,), dtype=np.int32)}
  return make


def _digits_data(batch):
  def make():
    from train.config import base_config
    c = base_config()
    c.data.batch_size = batch
    return c
  return make


def _adding_batch(b, steps):
  def make(seed):
    from train.adding_problem import generate
    inputs, target = generate(steps, b, seed=[steps, 100 + seed])
    return {'inputs': inputs, 'target': target}
  return make


def _bytes_batch(seed, config):
  """Random bytes [batch, max_len + 1]: the LM reads the first max_len, predicts the last."""
  rng = np.random.default_rng(seed)
  shape = (config.data.batch_size, config.model.max_len + 1)
  return {'tokens': rng.integers(0, config.model.vocab_size, size=shape, dtype=np.int32)}


def _data(name, batch):
  def make():
    from train.config import base_config
    c = base_config()
    c.data.name = name
    c.data.batch_size = batch
    return c
  return make


def _cnn_config():
  # Its convolutions get the engine's XLA options for convolutions (train/xla_options.py).
  return _base('cnn', 'small', 128, num_classes=10)


def _lstm_config():
  c = _base('rnn', 'bench', 128, cell='lstm', hidden=128, num_outputs=1)
  c.objective = 'regression'
  return c


def _transformer_config():
  c = _base('transformer', 'bench', 16, vocab_size=256, max_len=128, d_model=256, num_layers=4,
            num_heads=4, mlp_dim=1024, positions='learned', activation='gelu')
  c.objective = 'lm'
  c.host_one_heap = True   # its step's temporaries exceed a thread heap's 64 MB (README, levers)
  return c


def _transformer_large_config():
  """A byte-level LM that fills one accelerator: seq 2048, d 2048, 16 heads of 128, MLP 8192, 8
  layers (408M parameters), batch 8 (16k tokens a step), bf16 compute with float32 parameters and
  cuDNN's fused attention. For GPU/TPU: on a CPU a step takes minutes."""
  c = _base('transformer', 'bench', 8, vocab_size=256, max_len=2048, d_model=2048, num_layers=8,
            num_heads=16, mlp_dim=8192, positions='learned', activation='gelu',
            dtype='bfloat16', attention='cudnn')
  c.objective = 'lm'
  return c


def _transformer_flops(config):
  """Matmul FLOPs of the LM's forward pass from its config. Attention counts the full t x t score
  and value products (causal masking halves the useful work; the usual model-FLOPs convention,
  as in PaLM's 6N + 12LHQT, counts it whole)."""
  m = config.model
  b, t, d, f, v = config.data.batch_size, m.max_len, m.d_model, m.mlp_dim, m.vocab_size
  per_layer = 4 * _mm(b * t, d, d) + 2 * _mm(b * t, d, f) + 2 * _mm(b * t, t, d)  # proj, MLP, attn
  return m.num_layers * per_layer + _mm(b * t, d, v)


WORKLOADS = {
    # 784-512-512-10 ReLU, batch 256.
    'mlp': Workload(
        config=lambda: _base('mlp', 'bench', 256, num_classes=10),
        batch=_fixed(lambda seed: {k: (v.reshape(256, 784) if k == 'image' else v)
                                   for k, v in _images(256, 28)(seed).items()}),
        forward_flops=_fixed(lambda: _mm(256, 784, 512) + _mm(256, 512, 512) + _mm(256, 512, 10)),
        data=_digits_data(256)),
    # 28x28x1: Conv32 3x3 SAME ReLU avgpool2, Conv64 3x3 SAME ReLU avgpool2, Dense256,
    # Dense10; b 128.
    'cnn': Workload(
        config=_cnn_config,
        batch=_fixed(_images(128, 28)),
        forward_flops=_fixed(lambda: (_conv(128, 28, 28, 32, 1, 3, 3)
                                      + _conv(128, 14, 14, 64, 32, 3, 3)
                                      + _mm(128, 7 * 7 * 64, 256) + _mm(128, 256, 10))),
        data=_digits_data(128)),
    # The adding problem: T=100, input 2, one LSTM layer of 128 (input projection hoisted out of
    # the scan), last hidden state -> Dense 1, MSE; batch 128.
    'lstm': Workload(
        config=_lstm_config,
        batch=_fixed(_adding_batch(128, 100)),
        forward_flops=_fixed(lambda: (_mm(128 * 100, 2, 4 * 128) + 100 * _mm(128, 128, 4 * 128)
                                      + _mm(128, 128, 1))),
        data=_data('nnzoo_adding/t100', 128)),
    # Byte-level decoder-only LM: vocab 256, seq 128, d_model 256, 4 layers, 4 heads, MLP 1024,
    # pre-LN, GELU, learned positions, causal attention, next-token cross-entropy; batch 16.
    'transformer': Workload(
        config=_transformer_config,
        batch=_bytes_batch,
        forward_flops=_transformer_flops,
        data=_data('nnzoo_pychars', 16)),
    # The same LM at a size that fills an accelerator, bf16 (see _transformer_large_config); the
    # model-FLOPs utilization (`mfu`) is reported against the chip's spec bf16 peak.
    'transformer_large': Workload(
        config=_transformer_large_config,
        batch=_bytes_batch,
        forward_flops=_transformer_flops),
    # Sabour et al. 2017 CapsNet on 28x28x1, batch 32: Conv1 256@9x9, PrimaryCaps 32x8D 9x9/2,
    # DigitCaps 10x16D with 3 routing iterations, margin loss + 0.0005 x reconstruction (decoder
    # 512-1024-784, masked by the label). Like the PyTorch reference, the gradient reaches u_hat
    # only through the last routing iteration. The convolutions take the im2col path (see
    # models/capsnet.py: XLA:CPU's gradient of the strided 9x9 convolution is pathological).
    'capsnet': Workload(
        config=lambda: _capsnet(32),
        batch=_fixed(_images(32, 28)),
        forward_flops=_fixed(lambda: (_conv(32, 20, 20, 256, 1, 9, 9)
                                      + _conv(32, 6, 6, 256, 256, 9, 9)
                                      + 2 * 32 * 1152 * 10 * 16 * 8           # u_hat = W u
                                      + (3 + 2) * 2 * 32 * 1152 * 10 * 16     # routing, agreement
                                      + _mm(32, 160, 512) + _mm(32, 512, 1024)
                                      + _mm(32, 1024, 784))),
        data=_digits_data(32)),
}


def _capsnet(batch):
  c = _base('capsnet', 'sabour_mnist', batch, routing_iterations=3, reconstruct=True,
            detach_routing=True, im2col=True)
  c.objective = 'capsule'
  c.objective_args.recon_weight = 0.0005
  c.host_one_heap = True   # as the transformer's
  return c


def _cpu_seconds_all():
  try:
    with open('/proc/stat') as f:
      parts = f.readline().split()[1:]
    ticks = os.sysconf('SC_CLK_TCK')
    return (sum(int(p) for p in parts[:8]) - int(parts[3]) - int(parts[4])) / ticks
  except (OSError, ValueError, IndexError):
    return None


def _minor_faults() -> int:
  return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


class Timer:
  """Per-call wall times plus how busy this process and the rest of the machine were, and how
  many pages this process faulted in: memory mapped afresh every step (a step's temporaries
  larger than a thread's 64 MB heap, train/host_memory.py) costs the kernel's zeroing of each
  page, and whether it happens can differ between processes of one command, so a line carries
  the count, `page_faults_per_step` (the `capsnet` workload without one heap: 58,070 a step and
  0.269-0.281 s, against 0-5,807 and 0.235-0.243 s with it; README, Speed)."""

  def __init__(self):
    self.times = []

  def __enter__(self):
    self._all, self._cpu, self._wall = _cpu_seconds_all(), time.process_time(), time.perf_counter()
    self._faults = _minor_faults()
    return self

  def __exit__(self, *exc):
    wall = time.perf_counter() - self._wall
    cpu = time.process_time() - self._cpu
    self.faults = _minor_faults() - self._faults
    total = _cpu_seconds_all()
    self.cpu_util = cpu / wall
    self.foreign_cpu_util = (max(0.0, (total - self._all) - cpu) / wall
                             if total is not None and self._all is not None else None)

  def lap(self, fn):
    t0 = time.perf_counter()
    out = fn()
    self.times.append(time.perf_counter() - t0)
    return out

  def summary(self, per=1):
    ts = [t / per for t in self.times]
    return {'median_step_s': statistics.median(ts), 'min_step_s': min(ts),
            'p90_step_s': sorted(ts)[int(0.9 * (len(ts) - 1))], 'timed_steps': len(ts) * per,
            'cpu_util': round(self.cpu_util, 3),
            'page_faults_per_step': round(self.faults / max(len(ts) * per, 1)),
            'foreign_cpu_util': None if self.foreign_cpu_util is None
            else round(self.foreign_cpu_util, 3)}


def workload_config(name: str, overrides=()):
  """The workload's engine config with `--config.KEY=VALUE` overrides (levers) applied."""
  from train import config as config_lib
  config = WORKLOADS[name].config()
  config_lib.apply_overrides(config, list(overrides))
  config_lib.validate(config)
  return config


def bench_step(name: str, steps: int, warmup: int, overrides=(), per_call: int = 1) -> dict:
  import jax
  from train import loop
  from train import sharding as sharding_lib
  w = WORKLOADS[name]
  config = workload_config(name, overrides)
  loop.prepare_host(config)
  mesh = sharding_lib.make_mesh(config.mesh)
  batch_sharding = sharding_lib.batch_sharding(mesh)
  host_batches = [w.batch(seed, config) for seed in range(2)]
  leading = len(next(iter(host_batches[0].values())))
  if leading != config.data.batch_size:
    from train.errors import UserError
    raise UserError(f'workload {name} has a fixed batch of {leading} (the reference\'s shape); '
                    f'--config.data.batch_size={config.data.batch_size} does not apply to it')
  batches = [jax.device_put(b, batch_sharding) for b in host_batches]
  run = loop.build(config, mesh, batches[0])
  state = run.init(batches[0])
  t0 = time.perf_counter()
  if per_call > 1:   # K steps per call: the two batches alternate along the stacked axis
    stacked = jax.device_put(jax.tree.map(lambda a, b: np.stack([a, b] * (per_call // 2)
                                                                + [a] * (per_call % 2)),
                                          *host_batches), run.stacked_batch_sharding)
    batches = [stacked, stacked]
    step = run.compiled_multi_step(state, stacked)
  else:
    step = run.compiled_train_step(state, batches[0])
  compile_s = time.perf_counter() - t0
  metrics = None
  for i in range(warmup):
    state, metrics = step(state, batches[i % 2])
  jax.block_until_ready(metrics)
  first_loss = float(metrics['loss']) if metrics else None
  timer = Timer()

  def one(i):
    nonlocal state, metrics
    state, metrics = step(state, batches[i % 2])
    jax.block_until_ready(state)   # time whole steps, not dispatch
  with timer:
    for i in range(max(1, steps // per_call)):
      timer.lap(lambda: one(i))
  stats = timer.summary(per=per_call)
  b = config.data.batch_size
  flops = 3 * w.forward_flops(config)
  result = {'workload': name, 'overrides': list(overrides), **stats, 'batch': b,
            'examples_per_s': b / stats['median_step_s'],
            'compile_s': round(compile_s, 3), 'flops_per_step': flops,
            'gflops': flops / stats['median_step_s'] / 1e9,
            'loss_after_warmup': first_loss, 'loss_last': float(metrics['loss'])}
  if per_call > 1:
    result['steps_per_call'] = per_call
  dtype = config.model.get('dtype', 'float32')
  spec = spec_peak_tflops(jax.devices()[0], dtype)
  if spec:   # model-FLOPs utilization against the chip's datasheet peak for the compute dtype
    result.update(compute_dtype=dtype, spec_peak_tflops=spec * len(jax.devices()),
                  mfu=result['gflops'] / 1e3 / (spec * len(jax.devices())))
  return result


# Datasheet dense peaks per chip, TFLOP/s, by compute dtype (float32 matmuls run as TF32 under
# XLA's default precision on these GPUs). Keys are matched against jax's device_kind.
SPEC_PEAK_TFLOPS = {
    'H100': {'bfloat16': 989.4, 'float32': 494.7},   # H100 SXM5
    'H200': {'bfloat16': 989.4, 'float32': 494.7},
    'A100': {'bfloat16': 312.0, 'float32': 156.0},
}


def spec_peak_tflops(device, dtype: str):
  if device.platform == 'cpu':
    return None
  for key, peaks in SPEC_PEAK_TFLOPS.items():
    if key in device.device_kind:
      return peaks.get(str(dtype))
  return None


def tpu_estimate(name: str, topology: str, overrides=()) -> dict:
  """XLA's TPU cost estimate of the workload's step on a slice, compiled here with libtpu.

  An estimate, not a measurement: the roofline time max(FLOPs / peak, bytes / HBM bandwidth) per
  chip at the chip's spec peak, from the same train step the CPU numbers time, compiled as
  `python -m launch.aot` compiles it (train/tpu_compile.py).
  """
  import jax
  from train import tpu_compile
  config = workload_config(name, overrides)
  example = WORKLOADS[name].batch(0, config)

  def batch_fn(sharding):
    return {k: jax.ShapeDtypeStruct(v.shape, v.dtype, sharding=sharding)
            for k, v in example.items()}
  report = tpu_compile.check(config, topology, batch_fn=batch_fn)
  compute = report.flops / report.peak_flops
  memory = report.bytes_accessed / report.hbm_bandwidth
  return {'workload': name, 'overrides': list(overrides), 'estimate': True, 'topology': topology,
          'chips': report.chips, 'xla_flops_per_chip': report.flops,
          'xla_bytes_per_chip': report.bytes_accessed,
          'roofline_step_s': max(compute, memory),
          'bound': 'compute' if compute >= memory else 'memory',
          'hbm_fraction': report.total_bytes / report.hbm_bytes,
          'note': 'estimate from the TPU compiler\'s cost analysis at spec peak, not a measurement'}


def side_by_side(name: str, steps: int, warmup: int, reference: str, rounds: int,
                 overrides=()) -> dict:
  """Our step and a reference command timed in alternation on the same machine.

  `reference` is a command that prints one JSON line with its median step seconds (`median_s` or
  `median_step_s`), e.g. the PyTorch reference's `python bench_torch.py --workload cnn`; it is
  given `--steps N` per round. Alternating rounds share whatever else the machine is doing.
  """
  import subprocess
  ours, theirs = [], []
  for _ in range(rounds):
    ours.append(bench_step(name, max(1, steps // rounds), warmup, overrides))
    out = subprocess.run(shlex.split(reference) + ['--steps', str(max(1, steps // rounds))],
                         capture_output=True, text=True, check=True).stdout
    line = json.loads([l for l in out.splitlines() if l.startswith('{')][-1])
    theirs.append(line)
  ours_s = statistics.median(r['median_step_s'] for r in ours)   # median of the rounds' medians
  theirs_s = statistics.median(r.get('median_step_s', r.get('median_s')) for r in theirs)
  result = dict(ours[-1])
  result.update(median_step_s=ours_s, examples_per_s=result['batch'] / ours_s,
                timed_steps=sum(r['timed_steps'] for r in ours),
                gflops=result['flops_per_step'] / ours_s / 1e9, rounds=rounds,
                reference={'command': reference, 'median_step_s': theirs_s,
                           'framework': theirs[-1].get('framework'),
                           'version': theirs[-1].get('torch_version')},
                speedup_vs_reference=theirs_s / ours_s)
  return result


def bench_input(name: str, steps: int) -> dict:
  """Examples/s of the workload's real data path: read, decode, batch, put on devices."""
  import jax
  from train import data
  from train import sharding as sharding_lib
  config = WORKLOADS[name].data()
  mesh = sharding_lib.make_mesh(config.mesh)
  pipeline = data.make_pipeline(config)
  sharding = sharding_lib.batch_sharding(mesh)
  timer = Timer()
  with timer:   # from an empty read-ahead queue to the last batch on the devices
    stream = pipeline.train_stream(0, steps, sharding, config.data.prefetch)
    for _ in range(steps):
      timer.lap(lambda: jax.block_until_ready(next(stream)))
  total = sum(timer.times)
  b = config.data.batch_size
  return {'workload': name, 'input_only': True, 'data': config.data.name, 'batch': b,
          'batches': steps, 'mean_batch_s': total / steps, 'examples_per_s': b * steps / total,
          'cpu_util': round(timer.cpu_util, 3), 'foreign_cpu_util': timer.foreign_cpu_util}


def _matmul_gflops(n: int, dtype, reps: int) -> float:
  """Median GFLOP/s of an n^3 matmul on random inputs (never zeros: they can run faster)."""
  import jax
  import jax.numpy as jnp
  a, b = (jax.random.normal(jax.random.PRNGKey(i), (n, n), jnp.float32).astype(dtype)
          for i in (0, 1))
  mm = jax.jit(jnp.matmul)
  for _ in range(3):   # compile, then let an accelerator's clocks come up
    jax.block_until_ready(mm(a, b))
  timer = Timer()
  with timer:
    for _ in range(reps):
      timer.lap(lambda: jax.block_until_ready(mm(a, b)))
  return 2 * n ** 3 / timer.summary()['median_step_s'] / 1e9


def bench_peak(reps: int = 10) -> dict:
  """f32 matmul GFLOP/s for n = 2048 and 4096 (median over reps); the best is the peak. On an
  accelerator also bf16 at n = 8192 (`peak_bf16_gflops`), what `mfu` rows compare with."""
  import jax
  import jax.numpy as jnp
  out = {'workload': 'peak'}
  for n in (2048, 4096):
    out[f'matmul{n}_gflops'] = _matmul_gflops(n, jnp.float32, reps)
    out[f'matmul{n}_s'] = 2 * n ** 3 / out[f'matmul{n}_gflops'] / 1e9
  out['peak_gflops'] = max(out['matmul2048_gflops'], out['matmul4096_gflops'])
  if jax.devices()[0].platform != 'cpu':
    out['peak_bf16_gflops'] = max(_matmul_gflops(n, jnp.bfloat16, reps) for n in (4096, 8192))
    out['spec_peak_bf16_tflops'] = spec_peak_tflops(jax.devices()[0], 'bfloat16')
  return out


def machine() -> dict:
  import jax
  from train import host_memory
  from train import origin
  d = jax.devices()
  return {'platform': d[0].platform, 'device_kind': d[0].device_kind, 'devices': len(d),
          'retain_freed_memory': host_memory.applied, 'host_one_heap': host_memory.one_heap,
          'hardware': origin.hardware(), 'jax': jax.__version__,
          'python': platform.python_version(), 'xla_flags': os.environ.get('XLA_FLAGS', ''),
          'date': origin.now(), 'commit': origin.commit()}


def main(argv=None):
  print(json.dumps(measure(argv), sort_keys=True))
  return 0


def measure(argv=None) -> dict:
  """What `python -m train.bench ARGS` prints, as a dict (experiments/record_bench.py stores it)."""
  from train import cli
  from train.errors import ArgumentParser
  parser = ArgumentParser(prog='python -m train.bench', description=__doc__,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--workload', choices=sorted(WORKLOADS) + ['peak'])
  parser.add_argument('--steps', type=int, default=20, help='timed steps (>= 20 for the record)')
  parser.add_argument('--warmup', type=int, default=3)
  parser.add_argument('--input-only', action='store_true', help='time the data path, not the step')
  parser.add_argument('--tpu-estimate', metavar='TOPOLOGY',
                      help="print XLA's TPU cost estimate of the step on e.g. v5e:2x2 instead of "
                           'timing it here (needs libtpu: pip install -e .[tpu-aot])')
  parser.add_argument('--reference', metavar='COMMAND',
                      help='time this command (one JSON line with median_s) alternately with ours, '
                           'e.g. "python bench_torch.py --workload cnn"')
  parser.add_argument('--rounds', type=int, default=4, help='alternations with --reference')
  parser.add_argument('--steps-per-call', type=int, default=1, metavar='K',
                      help='run K steps per compiled call (lax.scan over K stacked batches); '
                           'times are per step')
  parser.add_argument('--time-to', type=float, metavar='ACCURACY',
                      help='time to this test accuracy of --config FILE trained by '
                           'python -m train, evaluated after every epoch '
                           '(train/time_to_accuracy.py)')
  parser.add_argument('--config', metavar='FILE[:ARG]', help='the config of --time-to')
  parser.add_argument('--max-epochs', type=int, metavar='N',
                      help='--time-to: train at most N epochs (default: the config\'s num_steps)')
  parser.add_argument('--seeds', default='0', metavar='S1,S2,...',
                      help='--time-to: seeds to run (the line holds the median)')
  args, rest = parser.parse_known_args(argv)
  if args.time_to is not None:
    return _time_to(parser, args, rest, argv)
  if args.config:
    parser.error('--config goes with --time-to')
  if not args.workload:
    parser.error('--workload (or --time-to with --config) is required')
  for flag, value, least in (('--steps', args.steps, 1), ('--warmup', args.warmup, 0),
                             ('--rounds', args.rounds, 1), ('--steps-per-call',
                                                            args.steps_per_call, 1)):
    if value < least:
      parser.error(f'{flag} must be at least {least}, got {value}')
  overrides = cli.config_overrides(parser, rest)
  if args.workload == 'peak':
    result = bench_peak()
  elif args.input_only:
    result = bench_input(args.workload, args.steps)
  elif args.tpu_estimate:
    os.environ.setdefault('JAX_PLATFORMS', 'cpu')
    result = tpu_estimate(args.workload, args.tpu_estimate, overrides)
  elif args.reference:
    result = side_by_side(args.workload, args.steps, args.warmup, args.reference, args.rounds,
                          overrides)
  else:
    result = bench_step(args.workload, args.steps, args.warmup, overrides, args.steps_per_call)
  result.update(machine())
  if result.get('estimate'):
    result['hardware'] = f'TPU {args.tpu_estimate} (XLA estimate, compiled on {result["hardware"]})'
  result['command'] = 'python -m train.bench ' + shlex.join(argv or sys.argv[1:])
  return result


def _time_to(parser, args, rest, argv) -> dict:
  from train import cli
  from train import time_to_accuracy
  if args.workload or args.input_only or args.tpu_estimate:
    parser.error('--time-to takes --config, not --workload, --input-only or --tpu-estimate')
  if not args.config:
    parser.error('--time-to needs --config FILE')
  if args.max_epochs is not None and args.max_epochs < 1:
    parser.error(f'--max-epochs must be at least 1, got {args.max_epochs}')
  try:
    seeds = [int(s) for s in args.seeds.split(',') if s.strip()]
  except ValueError:
    parser.error(f'--seeds {args.seeds!r}: seeds are integers separated by commas')
  overrides = cli.config_overrides(parser, rest)
  result = time_to_accuracy.time_to(args.config, args.time_to, seeds, args.max_epochs, overrides,
                                    args.reference)
  result.update(machine())
  for key in ('retain_freed_memory', 'host_one_heap'):   # this process's, not the timed runs'
    result.pop(key)
  result['command'] = 'python -m train.bench ' + shlex.join(argv or sys.argv[1:])
  return result


def _main(argv=None):
  from train import cli
  return cli.run_guarded(lambda: main(argv))


if __name__ == '__main__':
  sys.exit(_main())
