"""Compile the real train step for a TPU slice on this machine, without a TPU (libtpu's compiler).

`jax.experimental.topologies.get_topology_desc` describes the slice's chips; the loop's train
step (train.loop.build: the objective's train_step, the config's state and batch shardings over a
Mesh of those chips, the state donated) is lowered with abstract shapes and compiled. `check`
returns per-chip memory against the chip's HBM and XLA's cost estimate; `python -m launch.aot`
prints it, `python -m train.bench --tpu-estimate` turns it into a roofline time.
"""

import dataclasses
import functools
import os

# Only libtpu's compiler is used here, so several compiles may share the machine (tests, a second
# shell); without this the second process to load libtpu fails on its lockfile. Set at import:
# libtpu reads it when jax loads it.
os.environ.setdefault('ALLOW_MULTIPLE_LIBTPU_LOAD', '1')
GIB = 1024 ** 3

# Public per-chip specs (cloud.google.com/tpu/docs/system-architecture-tpu-vm): HBM bytes, peak
# bf16 FLOP/s, HBM bandwidth bytes/s. Keys are the generation prefix of a topology name.
CHIPS = {
    'v4': (32 * GIB, 275e12, 1228e9),
    'v5e': (16 * GIB, 197e12, 819e9),
    'v5p': (95 * GIB, 459e12, 2765e9),
    'v6e': (32 * GIB, 918e12, 1640e9),
}
# v4 and v5p chips have two TensorCores that JAX drives as one device ("megacore").
CHIP_CONFIG = {'v4': 'megacore', 'v5p': 'megacore'}
ACCELERATOR_TYPE = {'v4': 'v4-8', 'v5e': 'v5litepod-4', 'v5p': 'v5p-8', 'v6e': 'v6e-4'}


class DoesNotFit(Exception):
  """XLA's TPU compiler itself gave up: the step's buffers exceed the chip's HBM."""


@dataclasses.dataclass
class Report:
  topology: str
  chips: int
  hosts: int
  mesh: dict
  argument_bytes: int
  output_bytes: int
  alias_bytes: int
  temp_bytes: int
  code_bytes: int
  hbm_bytes: int
  flops: float
  bytes_accessed: float
  peak_flops: float
  hbm_bandwidth: float

  @property
  def total_bytes(self) -> int:
    """Peak per-chip estimate: inputs + outputs not aliased to (donated) inputs + temps + code."""
    return (self.argument_bytes + self.output_bytes - self.alias_bytes + self.temp_bytes +
            self.code_bytes)

  def fits(self, max_fraction: float) -> bool:
    return self.total_bytes <= max_fraction * self.hbm_bytes

  def format(self, max_fraction: float) -> str:
    def gib(n):  # one unit for the whole table, so the rows compare at a glance
      unit, scale = (('GiB', GIB) if self.total_bytes >= GIB else ('MiB', 1024 ** 2))
      return f'{n / scale:9.3f} {unit}'
    lines = [
        f'{self.topology}: {self.chips} chips on {self.hosts} host(s), mesh {self.mesh}',
        'per chip:',
        f'  arguments    {gib(self.argument_bytes)}   (train state shards + batch shard)',
        f'  outputs      {gib(self.output_bytes)}   ({gib(self.alias_bytes).strip()} of them '
        f'reuse donated arguments)',
        f'  temporaries  {gib(self.temp_bytes)}   (activations, gradients, collectives)',
        f'  code         {gib(self.code_bytes)}',
        f'  total        {gib(self.total_bytes)}   of {gib(self.hbm_bytes).strip()} HBM '
        f'({100 * self.total_bytes / self.hbm_bytes:.1f}%; limit {100 * max_fraction:.0f}%)',
        f'XLA cost estimate per chip per step: {self.flops:.4g} FLOPs, {self.bytes_accessed:.4g} '
        f'bytes accessed',
    ]
    if self.peak_flops:
      compute, memory = self.flops / self.peak_flops, self.bytes_accessed / self.hbm_bandwidth
      lines.append(f'  roofline lower bound {1e3 * max(compute, memory):.3f} ms/step '
                   f'({"compute" if compute >= memory else "memory"}-bound at spec peak: '
                   f'{1e3 * compute:.3f} ms compute, {1e3 * memory:.3f} ms HBM)')
    lines.append('FITS' if self.fits(max_fraction) else
                 f'DOES NOT FIT: needs {gib(self.total_bytes).strip()} per chip, '
                 f'{gib(max_fraction * self.hbm_bytes).strip()} usable')
    return '\n'.join(lines)


def parse_topology(name: str):
  """'v5e:2x2' -> ('v5e', (2, 2, 1)); 'v4:2x2x2' -> ('v4', (2, 2, 2))."""
  from train.errors import UserError
  generation, _, dims = name.partition(':')
  try:
    shape = tuple(int(d) for d in dims.split('x'))
  except ValueError:
    shape = ()
  if not generation or not shape or len(shape) > 3:
    raise UserError(f'topology {name!r}: expected GENERATION:AxB[xC], e.g. v5e:2x2, v4:2x2x2')
  return generation, shape + (1,) * (3 - len(shape))


def topology_devices(topology: str, chips_per_host, num_slices: int = 1):
  """The devices of a TPU slice, from libtpu's compiler; no TPU needed."""
  from jax.experimental import topologies
  from train.errors import UserError
  generation, _ = parse_topology(topology)
  # libtpu looks for a TPU VM's metadata unless told what it is; these quiet it.
  os.environ.setdefault('TPU_ACCELERATOR_TYPE', ACCELERATOR_TYPE.get(generation, 'v5litepod-4'))
  os.environ.setdefault('TPU_WORKER_HOSTNAMES', 'localhost')
  try:
    desc = topologies.get_topology_desc(platform='tpu', topology_name=topology,
                                        chip_config_name=CHIP_CONFIG.get(generation, 'default'),
                                        chips_per_host_bounds=tuple(chips_per_host),
                                        num_slices=num_slices)
  except Exception as e:  # noqa: BLE001 - libtpu's errors are RuntimeErrors/XlaRuntimeErrors
    raise UserError(f'cannot describe TPU topology {topology!r} with chips_per_host '
                    f'{tuple(chips_per_host)}: {str(e).splitlines()[0][:300]}') from None
  return list(desc.devices)


def compile_train_step(config, devices, batch_fn=None):
  """Lowers and compiles the loop's train step for `devices`; returns the compiled executable.

  batch_fn(sharding) -> {key: ShapeDtypeStruct} gives the batch's shapes; by default they come
  from the config's data set (train.shapes)."""
  import jax
  from train import loop
  from train import sharding as sharding_lib
  from train import shapes
  from train.errors import UserError
  if config.data.batch_size % len(devices):
    raise UserError(f'config.data.batch_size={config.data.batch_size} is not divisible by the '
                    f'{len(devices)} chips')
  mesh = sharding_lib.make_mesh(config.mesh, devices)
  batch = (batch_fn or functools.partial(shapes.abstract_batch, config))(
      sharding_lib.batch_sharding(mesh))
  run = loop.build(config, mesh, batch)
  state = jax.tree.map(lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s),
                       run.abstract_state, run.state_sharding)
  try:
    return run.compiled_train_step(state, batch), mesh
  except jax.errors.JaxRuntimeError as e:
    if 'RESOURCE_EXHAUSTED' in str(e):
      raise DoesNotFit(str(e).splitlines()[0]) from None
    raise


def check(config, topology: str, chips_per_host=(2, 2, 1), num_slices: int = 1,
          hbm_gib: float = 0.0, batch_fn=None) -> Report:
  from train.errors import UserError
  generation, _ = parse_topology(topology)
  if generation not in CHIPS and not hbm_gib:
    raise UserError(f'no HBM size known for {generation!r} (known: {", ".join(CHIPS)}); pass '
                    f'--hbm_gib')
  hbm, peak, bandwidth = CHIPS.get(generation, (0, 0.0, 0.0))
  if hbm_gib:
    hbm = int(hbm_gib * GIB)
  devices = topology_devices(topology, chips_per_host, num_slices)
  compiled, mesh = compile_train_step(config, devices, batch_fn)
  memory = compiled.memory_analysis()
  cost = compiled.cost_analysis()
  cost = cost[0] if isinstance(cost, (list, tuple)) else (cost or {})
  return Report(
      topology=topology, chips=len(devices),
      hosts=len({d.process_index for d in devices}), mesh=dict(mesh.shape),
      argument_bytes=memory.argument_size_in_bytes, output_bytes=memory.output_size_in_bytes,
      alias_bytes=memory.alias_size_in_bytes, temp_bytes=memory.temp_size_in_bytes,
      code_bytes=memory.generated_code_size_in_bytes, hbm_bytes=hbm,
      flops=float(cost.get('flops', 0.0)), bytes_accessed=float(cost.get('bytes accessed', 0.0)),
      peak_flops=peak, hbm_bandwidth=bandwidth)
