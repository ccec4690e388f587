"""Where arrays live: a Mesh over all devices, the batch split over 'data', and every leaf of the
train state placed by regex rules over its path (replicated, FSDP or tensor parallel).

A run of several members (config.vmap, train/members.py) has one more mesh axis, 'member': every
leaf of its state (but the step) and every batch then has a leading member axis, split over it,
and the rules place each member's leaf as they would place a single run's.
"""

import logging
import math
import os
import re

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from train.errors import UserError


# Megatron-style tensor parallelism for models/transformer.py, as `config.sharding.rules` with a
# 'model' mesh axis (e.g. config.mesh = {'data': -1, 'model': 4}): attention heads and the MLP's
# hidden units are split over 'model', so each block needs one all-reduce after attention and one
# after the MLP. Other leaves stay replicated (or FSDP). The optimizer state's leaves end in the
# same paths, so they follow their parameters.
TRANSFORMER_TENSOR_PARALLEL = (
    (r'attn/(query|key|value)/kernel$', (None, 'model', None)),   # [d_model, heads, head_dim]
    (r'attn/(query|key|value)/bias$', ('model', None)),           # [heads, head_dim]
    (r'attn/out/kernel$', ('model', None, None)),                 # [heads, head_dim, d_model]
    (r'mlp_in/kernel$', (None, 'model')),                         # [d_model, mlp_dim]
    (r'mlp_in/bias$', ('model',)),                                # [mlp_dim]
    (r'mlp_out/kernel$', ('model', None)),                        # [mlp_dim, d_model]
)

# The mesh axis of a run's members (config.vmap): apart from 'data' and the tensor-parallel
# 'model', so members compose with both.
MEMBER_AXIS = 'member'


AUTO_CPU_DEVICES = -1   # config.cpu_devices' default: the engine picks (cpu_devices_for)
# Model families whose steps measured faster data-parallel over two CPU devices than on one (README,
# Speed: "cpu_devices"); convolutional nets, MLPs and capsules did not gain, so they keep one.
SPLIT_FAMILIES = ('transformer', 'rnn')


def cpu_devices_for(config) -> int:
  """The CPU device count a run asks for: config.cpu_devices, or where it is AUTO_CPU_DEVICES,
  the engine's pick: 2 on a host with >= 2 cores for a model of SPLIT_FAMILIES (an RNN only with
  its fused layers: the plain scan all-reduces at every time step) whose batch sizes split in two,
  trained on the default data-parallel mesh by one process without members; else 0 (JAX's one
  device). Only the count: use_cpu_devices applies it (or not: see there)."""
  n = int(config.cpu_devices)
  if n != AUTO_CPU_DEVICES:
    return n
  m, d = config.model, config.data
  batches = (d.batch_size, d.eval_batch_size or d.batch_size)
  fits = (m.name in SPLIT_FAMILIES and m.get('fused', True)
          and len(os.sched_getaffinity(0)) >= 2
          and all(b % 2 == 0 for b in batches)
          and dict(config.mesh) == {'data': -1, 'model': 1}
          and not (config.vmap.seeds or config.vmap.learning_rates)
          and not jax.distributed.is_initialized())
  return 2 if fits else 0


def use_cpu_devices(n: int) -> bool:
  """`config.cpu_devices`: make JAX's CPU backend n devices (jax_num_cpu_devices). Must run
  before JAX starts its devices; returns whether it applied (see train/config.py for when not)."""
  if n <= 0 or 'xla_force_host_platform_device_count' in os.environ.get('XLA_FLAGS', ''):
    return False
  try:
    jax.config.update('jax_num_cpu_devices', n)
  except RuntimeError:   # JAX has started its devices already (the count is fixed from then on)
    if jax.default_backend() == 'cpu' and jax.local_device_count() != n:
      logging.getLogger('nnzoo').warning(
          'config.cpu_devices=%d not applied: JAX already started %d CPU devices', n,
          jax.local_device_count())
    return False
  return True


def make_mesh(mesh_config, devices=None, members: int = 0) -> Mesh:
  """`config.mesh` is an ordered {axis: size}; one size may be -1 (what the devices leave).

  devices: all devices of all processes by default; launch/aot.py passes a TPU topology's.
  members: > 0 adds the MEMBER_AXIS, last, of the largest size that divides both the member count
  and one process's devices (members need no communication, so they take devices before 'data'
  does; within a process, so each process feeds all members' batches). The -1 axis takes the rest;
  a mesh without one keeps its sizes and a member axis of 1.
  """
  names = tuple(mesh_config.keys())
  sizes = [int(mesh_config[n]) for n in names]
  n = jax.device_count() if devices is None else len(devices)
  if members:
    local = jax.local_device_count() if devices is None else len(devices)
    names += (MEMBER_AXIS,)
    sizes.append(math.gcd(members, local) if -1 in sizes else 1)
  known = math.prod(s for s in sizes if s != -1)
  if sizes.count(-1) > 1 or n % known:
    raise UserError(f'config.mesh {dict(zip(names, sizes))} does not fit {n} devices')
  sizes = [n // known if s == -1 else s for s in sizes]
  if math.prod(sizes) != n:
    raise UserError(f'config.mesh {dict(zip(names, sizes))} uses {math.prod(sizes)} of {n} devices')
  auto = (jax.sharding.AxisType.Auto,) * len(names)
  return jax.make_mesh(sizes, names, axis_types=auto, devices=devices)


def batch_sharding(mesh: Mesh) -> NamedSharding:
  """Leading (example) axis over 'data' (and 'fsdp' when the mesh has it); in a mesh with members,
  the member axis first, then the examples."""
  axes = tuple(a for a in ('data', 'fsdp') if a in mesh.axis_names)
  if MEMBER_AXIS in mesh.axis_names:
    return NamedSharding(mesh, P(MEMBER_AXIS, axes))
  return NamedSharding(mesh, P(axes))


def example_sharding(mesh: Mesh) -> NamedSharding:
  """The example axis alone, as batch_sharding places it ('data', 'fsdp'): which rows of a global
  batch each process reads (train/data.py). Members live within a process, so a member mesh's
  process holds the same example rows for every member it holds."""
  return NamedSharding(mesh, P(tuple(a for a in ('data', 'fsdp') if a in mesh.axis_names)))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def path_str(path) -> str:
  """'params/Conv_0/kernel' for a pytree key path."""
  parts = []
  for k in path:
    for attr in ('key', 'name', 'idx'):
      if hasattr(k, attr):
        parts.append(str(getattr(k, attr)))
        break
    else:
      parts.append(str(k))
  return '/'.join(parts)


def _fsdp_spec(shape, axis_size, axis, min_size):
  """Shards the largest dimension divisible by the axis size; small leaves stay replicated."""
  if not shape or np.prod(shape) < min_size:
    return P()
  for dim in sorted(range(len(shape)), key=lambda d: -shape[d]):
    if shape[dim] % axis_size == 0:
      spec = [None] * len(shape)
      spec[dim] = axis
      return P(*spec)
  return P()


def state_shardings(abstract_state, mesh: Mesh, sharding_config):
  """A NamedSharding for every leaf of the (abstract) train state. With a member axis in the mesh,
  each leaf's leading axis is the members' (but the step's, a scalar they share): split over it,
  the rest placed as a member's."""
  rules = [(re.compile(pattern), P(*spec)) for pattern, spec in sharding_config.rules]
  fsdp_axis = 'fsdp' if 'fsdp' in mesh.axis_names else 'data'
  members = MEMBER_AXIS in mesh.axis_names

  def spec_of(name, shape):
    for pattern, spec in rules:
      if pattern.search(name) and len(spec) <= len(shape):
        _check_divisible(name, shape, spec, mesh)
        return spec
    if sharding_config.fsdp:
      return _fsdp_spec(shape, mesh.shape[fsdp_axis], fsdp_axis, sharding_config.fsdp_min_size)
    return P()

  def one(path, leaf):
    shape = tuple(getattr(leaf, 'shape', ()))
    if members and shape:   # (the step, the state's one scalar, is the members' common one)
      return NamedSharding(mesh, P(MEMBER_AXIS, *spec_of(path_str(path), shape[1:])))
    return NamedSharding(mesh, spec_of(path_str(path), shape))

  return jax.tree_util.tree_map_with_path(one, abstract_state)


def _check_divisible(name, shape, spec, mesh):
  for dim, axes in enumerate(spec):
    if axes is None:
      continue
    size = math.prod(mesh.shape[a] for a in (axes if isinstance(axes, tuple) else (axes,)))
    if shape[dim] % size:
      raise UserError(f'sharding rule puts dimension {dim} of {name} (shape {shape}) over mesh '
                      f'axes {axes} of size {size}, which does not divide it')


def describe(state, shardings) -> list[tuple[str, tuple, str, int]]:
  """(path, shape, spec, bytes per device) per leaf: the sharding report."""
  rows = []
  leaves = jax.tree_util.tree_leaves_with_path(state)
  specs = jax.tree_util.tree_leaves(shardings)
  for (path, leaf), sharding in zip(leaves, specs):
    shard_shape = sharding.shard_shape(leaf.shape)
    rows.append((path_str(path), tuple(leaf.shape), str(sharding.spec),
                 int(np.prod(shard_shape)) * leaf.dtype.itemsize))
  return rows
