"""Parallel candidates: the padded population network computes what each SpaceMLP computes (outputs
and gradients), starts from its init distribution, and trains through the engine sharded over
the devices along the population axis."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models import nas_mlp

# No hidden layer; relu, tanh and sigmoid of every width; absent layers first, middle and last.
ARCHS = [(0, 0, 0), (3, 0, 9), (7, 5, 0), (0, 8, 4)]


def _embed(space_params, arch, num_classes=10):
  """SpaceMLP's parameters written into the padded layout (dead entries 0)."""
  hk = np.zeros((nas_mlp.LAYERS, nas_mlp.PAD, nas_mlp.PAD), np.float32)
  hb = np.zeros((nas_mlp.LAYERS, nas_mlp.PAD), np.float32)
  dense = 0
  for l, op in enumerate(arch):
    if op:
      k, b = space_params[f'Dense_{dense}']['kernel'], space_params[f'Dense_{dense}']['bias']
      hk[l, :k.shape[0], :k.shape[1]], hb[l, :b.shape[0]] = k, b
      dense += 1
  k, b = space_params[f'Dense_{dense}']['kernel'], space_params[f'Dense_{dense}']['bias']
  ok = np.zeros((nas_mlp.PAD, num_classes), np.float32)
  ok[:k.shape[0]] = k
  return {'hidden_kernel': hk, 'hidden_bias': hb, 'out_kernel': ok, 'out_bias': np.asarray(b)}


@pytest.mark.parametrize('arch', ARCHS)
def test_padded_candidate_equals_space_mlp_in_output_and_gradient(arch):
  x = jax.random.uniform(jax.random.key(1), (5, 8, 8, 1))
  labels = jnp.arange(5) % 10
  space = nas_mlp.SpaceMLP(arch=arch)
  sp = space.init(jax.random.key(2), x)['params']
  # Biases are 0 at init; make them live so the test sees them.
  sp = jax.tree.map(lambda a: a + 0.1 * jax.random.normal(jax.random.key(3), a.shape), sp)
  pp = jax.tree.map(jnp.asarray, _embed(sp, arch))
  ops = jnp.asarray(arch)
  flat = x.reshape(5, -1)

  def loss_space(p):
    logits = space.apply({'params': p}, x)
    return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(5), labels]), logits

  def loss_padded(p):
    logits = nas_mlp.padded_logits(p, ops, flat)
    return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(5), labels]), logits

  (ls, out_s), gs = jax.jit(jax.value_and_grad(loss_space, has_aux=True))(sp)
  (lp, out_p), gp = jax.jit(jax.value_and_grad(loss_padded, has_aux=True))(pp)
  np.testing.assert_allclose(out_p, out_s, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(lp, ls, rtol=1e-6)
  want = _embed(gs, arch)
  for k in want:   # live gradients equal SpaceMLP's; dead ones are exactly 0
    np.testing.assert_allclose(gp[k], want[k], rtol=1e-4, atol=1e-6, err_msg=k)


def test_population_init_has_space_mlp_scale_and_zero_dead_weights():
  archs = [(1, 0, 0), (7, 4, 0), (0, 0, 9)]
  model = nas_mlp.PopulationMLP(archs=archs)
  v = model.init(jax.random.key(0), jnp.zeros((2, 8, 8, 1)))
  hk, ok = np.asarray(v['params']['hidden_kernel']), np.asarray(v['params']['out_kernel'])
  assert v['arch']['ops'].tolist() == [list(a) for a in archs]
  # (7, 4, 0) = relu-64 > relu-32 > absent: layer 1 reads 64 features, layer 2 reads 64.
  live = hk[1, 1, :64, :32]
  assert abs(live.std() - 1 / 8) < 0.01   # lecun_normal: std 1/sqrt(fan_in)
  assert np.all(hk[1, 1, :, 32:] == 0) and np.all(hk[1, 2] == 0) and np.all(ok[1, 32:] == 0)
  assert abs(ok[0, :16].std() - 1 / 4) < 0.03 and np.all(ok[0, 16:] == 0)
  space = nas_mlp.SpaceMLP(arch=(7, 4, 0)).init(jax.random.key(5), jnp.zeros((2, 64)))['params']
  assert abs(float(space['Dense_1']['kernel'].std()) - live.std()) < 0.01


def test_population_trains_through_the_engine_sharded_over_devices(data_dir, tmp_path):
  from train import config as config_lib
  from train import loop
  c = config_lib.base_config()
  c.objective = 'population'
  c.model = config_lib.ml_collections.ConfigDict({'name': 'nas_mlp', 'variant': 'population_tiny'})
  c.mesh.data, c.mesh.model = 1, -1
  c.sharding.rules = nas_mlp.POPULATION_SHARDING
  c.data.batch_size = 64
  c.num_steps, c.log_every, c.eval_every, c.ckpt_every, c.plots = 60, 20, 0, 0, False
  summary = loop.train_and_evaluate(c, tmp_path, progress=False)
  state = summary['state']
  kernel = state.params['hidden_kernel']
  assert kernel.shape[0] == 8 and kernel.sharding.spec[0] == 'model'
  assert len({s.device for s in kernel.addressable_shards}) == jax.device_count() == 8
  moments = [leaf for path, leaf in jax.tree_util.tree_leaves_with_path(state.opt_state)
             if 'hidden_kernel' in jax.tree_util.keystr(path)]
  assert len(moments) == 2 and all(m.sharding.spec[0] == 'model' for m in moments)   # Adam's
  assert summary['eval']['accuracy'] > 0.3   # population mean; chance is 0.1
  rows = [r for r in loop.metrics_lib.read(tmp_path) if r.get('split') == 'train']
  assert rows[-1]['mean_loss'] < rows[0]['mean_loss']
