"""Where arrays live: a Mesh over all devices, the batch split over 'data', and every leaf of the
train state placed by regex rules over its path (replicated, FSDP or tensor parallel)."""

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


def make_mesh(mesh_config, devices=None) -> Mesh:
  """`config.mesh` is an ordered {axis: size}; one size may be -1 (what the devices leave).

  devices: all devices of all processes by default; launch/aot.py passes a TPU topology's.
  """
  names = tuple(mesh_config.keys())
  sizes = [int(mesh_config[n]) for n in names]
  n = jax.device_count() if devices is None else len(devices)
  known = math.prod(s for s in sizes if s != -1)
  if sizes.count(-1) > 1 or n % known:
    raise UserError(f'config.mesh {dict(zip(names, sizes))} does not fit {n} devices')
  sizes = [n // known if s == -1 else s for s in sizes]
  if math.prod(sizes) != n:
    raise UserError(f'config.mesh {dict(zip(names, sizes))} uses {math.prod(sizes)} of {n} devices')
  auto = (jax.sharding.AxisType.Auto,) * len(names)
  return jax.make_mesh(sizes, names, axis_types=auto, devices=devices)


def batch_sharding(mesh: Mesh) -> NamedSharding:
  """Leading (example) axis over 'data' (and 'fsdp' when the mesh has it)."""
  axes = tuple(a for a in ('data', 'fsdp') if a in mesh.axis_names)
  return NamedSharding(mesh, P(axes))


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
  """A NamedSharding for every leaf of the (abstract) train state."""
  rules = [(re.compile(pattern), P(*spec)) for pattern, spec in sharding_config.rules]
  fsdp_axis = 'fsdp' if 'fsdp' in mesh.axis_names else 'data'

  def one(path, leaf):
    name = path_str(path)
    shape = getattr(leaf, 'shape', ())
    for pattern, spec in rules:
      if pattern.search(name) and len(spec) <= len(shape):
        _check_divisible(name, shape, spec, mesh)
        return NamedSharding(mesh, spec)
    if sharding_config.fsdp:
      return NamedSharding(mesh, _fsdp_spec(shape, mesh.shape[fsdp_axis], fsdp_axis,
                                            sharding_config.fsdp_min_size))
    return NamedSharding(mesh, P())

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
