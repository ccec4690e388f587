"""The NAS study's MLP space: indexing is a bijection and each architecture builds its network."""

import jax
import jax.numpy as jnp
import pytest

from models import nas_mlp


def test_space_has_1000_architectures_indexed_both_ways():
  archs = nas_mlp.all_architectures()
  assert len(archs) == 1000 == len(set(archs))
  assert [nas_mlp.index(a) for a in archs] == list(range(1000))
  assert all(nas_mlp.from_index(nas_mlp.index(a)) == a for a in archs)


def test_absent_layers_are_dropped_and_widths_follow_the_ops():
  module = nas_mlp.SpaceMLP(arch=(7, 0, 2), num_classes=10)
  params = module.init(jax.random.key(0), jnp.zeros((2, 8, 8, 1)))['params']
  shapes = [params[f'Dense_{i}']['kernel'].shape for i in range(3)]
  assert shapes == [(64, 64), (64, 16), (16, 10)]
  assert nas_mlp.describe((7, 0, 2)) == 'relu-64 > absent > tanh-16'


def test_bad_architecture_names_the_problem():
  with pytest.raises(ValueError, match='op 10 is not in'):
    nas_mlp.validate((10, 0, 0))
  with pytest.raises(ValueError, match='has 3 ops'):
    nas_mlp.validate((1, 2))
