"""First-order DARTS (Liu, Simonyan & Yang 2019, Algorithm 1 with xi = 0): a bilevel search step.

The model is a supernet of models/darts.py whose architecture weights are the parameters matching
objective_args.alpha_pattern (regex over the parameter path, default '^alpha'). The state holds
the two groups as params {'w', 'alpha'} and their optimizer states as {'w', 'alpha'}, as a GAN
holds {'g', 'd'}. One jitted step:

  1. alpha <- alpha - Adam(grad_alpha L_val(w, alpha))     on the batch's 'val_*' keys
  2. w     <- w - SGD(grad_w L_train(w, alpha))           on its plain keys, with the new alpha

The validation batch comes from the engine's second stream: set config.data.val_split (e.g.
train_split 'train[:50%]', val_split 'train[50%:]', the paper's 50/50 split of the training set).
Weights use the config's optimizer (the paper: SGD momentum 0.9, lr 0.025 cosine to 0.001, weight
decay 3e-4, gradient clipping 5); alpha uses Adam with objective_args alpha_lr (3e-4), alpha_b1
(0.5), alpha_b2 (0.999) and alpha_weight_decay (1e-3, L2 as in PyTorch's Adam).

Metrics: train loss/accuracy, val_loss/val_accuracy (of the alpha step), alpha_max_dev =
max |softmax(alpha) - 1/K| over all choices (0 at uniform), alpha_entropy = mean entropy of the
softmax over choices divided by log K (1 at uniform). Eval reports the supernet's test metrics and
the same alpha statistics. Plots: the softmax of alpha per edge (alpha.png) and the derived
architecture (architecture.json, with its share of parameter-free ops).
"""

import json
import re

import jax
import jax.numpy as jnp
import optax
from flax import traverse_util

from models import darts as darts_models
from train import atomic
from train.data import VAL_PREFIX
from train.errors import UserError
from train.objectives.arguments import Arg
from train.objectives import loss as loss_lib
from train.objectives.classification import Classification
from train.state import TrainState


def alpha_statistics(alphas) -> dict:
  """How far the architecture weights are from uniform (jnp or np arrays, any leading shape)."""
  devs, ents = [], []
  for a in jax.tree.leaves(alphas):
    p = jax.nn.softmax(jnp.asarray(a, jnp.float32), -1)
    k = p.shape[-1]
    devs.append(jnp.max(jnp.abs(p - 1.0 / k)))
    ents.append(jnp.mean(-jnp.sum(p * jnp.log(p + 1e-12), -1)) / jnp.log(k))
  return {'alpha_max_dev': jnp.max(jnp.stack(devs)), 'alpha_entropy': jnp.mean(jnp.stack(ents))}


class DARTS(Classification):
  # Its step is two updates on two streams (alpha, then w), not one gradient then one update.
  accumulates = False
  ARGS = {
      'alpha_pattern': Arg('^alpha', str),   # regex over the parameter path
      'alpha_lr': Arg(3e-4, float),
      'alpha_b1': Arg(0.5, float),
      'alpha_b2': Arg(0.999, float),
      'alpha_weight_decay': Arg(1e-3, float),
  }

  def __init__(self, config, model, tx):
    super().__init__(config, model, tx)
    a = config.objective_args
    self.alpha_pattern = re.compile(a.alpha_pattern)
    chain = []
    if a.alpha_weight_decay:
      chain.append(optax.add_decayed_weights(float(a.alpha_weight_decay)))
    chain.append(optax.adam(float(a.alpha_lr), b1=float(a.alpha_b1), b2=float(a.alpha_b2)))
    self.alpha_tx = optax.chain(*chain)

  # -- the two parameter groups ----------------------------------------------------------------
  def split(self, params):
    flat = traverse_util.flatten_dict(params, sep='/')
    alpha = {k: v for k, v in flat.items() if self.alpha_pattern.search(k)}
    w = {k: v for k, v in flat.items() if k not in alpha}
    return traverse_util.unflatten_dict(w, sep='/'), traverse_util.unflatten_dict(alpha, sep='/')

  @staticmethod
  def merge(w, alpha):
    flat = {**traverse_util.flatten_dict(w, sep='/'), **traverse_util.flatten_dict(alpha, sep='/')}
    return traverse_util.unflatten_dict(flat, sep='/')

  def _merged(self, state):
    return state.replace(params=self.merge(state.params['w'], state.params['alpha']))

  def architecture(self, state):
    """The discrete architecture the state's alpha names (host side)."""
    return darts_models.derive(self.model, jax.device_get(state.params['alpha']))

  # -- the contract ----------------------------------------------------------------------------
  def init_state(self, rng, batch) -> TrainState:
    if not any(k.startswith(VAL_PREFIX) for k in batch):
      raise UserError('the darts objective trains alpha on a held-out stream: set '
                      "config.data.val_split (e.g. train_split='train[:50%]', "
                      "val_split='train[50%:]')")
    state = super().init_state(rng, self._train_part(batch))
    w, alpha = self.split(state.params)
    if not jax.tree.leaves(alpha):
      raise UserError(f'model {type(self.model).__name__} has no parameters matching '
                      f'objective_args.alpha_pattern={self.alpha_pattern.pattern!r}')
    return state.replace(params={'w': w, 'alpha': alpha},
                         opt_state={'w': self.tx.init(w), 'alpha': self.alpha_tx.init(alpha)})

  @staticmethod
  def _train_part(batch):
    return {k: v for k, v in batch.items() if not k.startswith(VAL_PREFIX)}

  @staticmethod
  def _val_part(batch):
    return {k[len(VAL_PREFIX):]: v for k, v in batch.items() if k.startswith(VAL_PREFIX)}

  def _loss(self, w, alpha, model_state, batch, rng):
    outputs, new_model_state = self.forward(
        {'params': self.merge(w, alpha), **model_state}, batch, train=True,
        rngs={'dropout': rng}, mutable=list(model_state))
    losses, metrics = self.per_example(loss_lib.float32(outputs), batch)
    return losses.mean(), (metrics, dict(new_model_state))

  def train_step(self, state: TrainState, batch):
    rng = jax.random.fold_in(state.rng, state.step)
    val_rng, train_rng = jax.random.split(rng)
    w, alpha = state.params['w'], state.params['alpha']

    # 1. The architecture step: the validation batch only, weights held fixed.
    (val_loss, (val_metrics, _)), g_alpha = jax.value_and_grad(self._loss, 1, has_aux=True)(
        w, alpha, state.model_state, self._val_part(batch), val_rng)
    updates, opt_alpha = self.alpha_tx.update(g_alpha, state.opt_state['alpha'], alpha)
    alpha = optax.apply_updates(alpha, updates)

    # 2. The weight step: the training batch only, with the new architecture.
    (loss, (metrics, model_state)), g_w = jax.value_and_grad(self._loss, 0, has_aux=True)(
        w, alpha, state.model_state, self._train_part(batch), train_rng)
    updates, opt_w = self.tx.update(g_w, state.opt_state['w'], w)
    w = optax.apply_updates(w, updates)

    out = {k: v.mean() for k, v in metrics.items()}
    out.update({f'val_{k}': v.mean() for k, v in val_metrics.items()})
    out.update(loss=loss, val_loss=val_loss, grad_norm=optax.global_norm(g_w),
               alpha_grad_norm=optax.global_norm(g_alpha), **alpha_statistics(alpha))
    new = state.replace(step=state.step + 1, params={'w': w, 'alpha': alpha},
                        opt_state={'w': opt_w, 'alpha': opt_alpha}, model_state=model_state)
    return new, out

  def eval_step(self, state: TrainState, batch):
    sums = super().eval_step(self._merged(state), batch)
    count = sums['count']
    sums.update({k: v * count for k, v in alpha_statistics(state.params['alpha']).items()})
    return sums

  def plots(self, state, batch, directory):
    from train import plots
    alphas = jax.device_get(state.params['alpha'])
    arch = darts_models.derive(self.model, alphas)
    names = darts_models.op_names(self.model, arch)
    info = {'architecture': arch, 'ops': names,
            'parameter_free_share': darts_models.parameter_free_share(self.model, arch),
            'softmax_alpha': {k: darts_models.softmax(v).round(4).tolist()
                              for k, v in alphas.items()}}
    atomic.write(directory / 'architecture.json', json.dumps(info, indent=1))
    labels = darts_models.alpha_labels(self.model)
    panels = [(k, darts_models.softmax(v), *labels[k]) for k, v in sorted(alphas.items())]
    return [plots.heatmaps(panels, directory / 'alpha.png'), directory / 'architecture.json']


def architecture_summary(model, alphas) -> dict:
  """The derived architecture, its op names and share of parameter-free ops (for measures)."""
  arch = darts_models.derive(model, alphas)
  return {'architecture': arch, 'ops': darts_models.op_names(model, arch),
          'parameter_free_share': darts_models.parameter_free_share(model, arch),
          **{k: float(v) for k, v in alpha_statistics(alphas).items()}}

