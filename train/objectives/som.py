"""Competitive learning of a self-organizing map (Kohonen 1990): no loss, no gradient.

Each step finds every example's best-matching unit (BMU) and pulls the prototypes of the BMU and of
its grid neighbours towards the example, weighted by a Gaussian neighbourhood
h(u, v) = exp(-|r_u - r_v|^2 / (2 radius^2)) over grid positions r. Radius and rate decay
exponentially with the step from `*_start` to `*_end` over config.num_steps.

  variant 'batch' (Kohonen 1993, the batch map): w_v <- w_v + rate (sum_x h(bmu(x), v) x /
    sum_x h(bmu(x), v) - w_v). The two sums run over the batch; the batch is sharded over 'data',
    so under jit they reduce across devices by themselves and the update equals the single-device
    one. rate 1 is the classic batch map.
  variant 'online' (Kohonen 1982): w_v <- w_v + rate h(bmu(x), v) (x - w_v), one example after the
    other (a scan over the batch; it gathers the batch and does not parallelize).

The optimizer of the config (`tx`) is not used: opt_state is empty, and the logs show the radius
and rate of each logged step (`logged_schedule`) instead of a learning rate. Metrics: quantization
error (mean distance of an example to its BMU's prototype; reported as `loss` too) and topographic
error (fraction of examples whose first and second BMUs are not grid neighbours, 4-neighbourhood;
Kiviluoto 1996).

objective_args:
  variant: 'batch' (default) | 'online'
  radius_start (default max(rows, cols) / 2), radius_end (default 1.0)
  rate_start (default 1.0 batch, 0.5 online), rate_end (default 0.01 online, 1.0 batch)
  init: 'random' (uniform in the first batch's bounding box; the "untrained map"), 'sample'
    (random examples of the first batch) or 'pca' (a plane spanned by the first batch's two
    principal components, Kohonen's linear initialization)
  standardize: scale inputs by the first batch's mean and standard deviation (kept in the state)
  input_key (default 'image'), label_key (default 'label') for the hit map and the U-matrix's labels
  label_names (default none): the classes' names, for the legend of the labelled U-matrix
"""

import jax
import jax.numpy as jnp
import numpy as np

from models import som as som_model
from train.errors import UserError
from train.objectives.arguments import Arg
from train.objectives.arguments import resolve
from train.state import TrainState


def _online(args) -> bool:
  return args.variant == 'online'


class SOMObjective:
  ARGS = {
      'variant': Arg('batch', str),
      'radius_start': Arg(lambda args, model: max(model.rows, model.cols) / 2, float),
      'radius_end': Arg(1.0, float),
      'rate_start': Arg(lambda args, model: 0.5 if _online(args) else 1.0, float),
      'rate_end': Arg(lambda args, model: 0.01 if _online(args) else 1.0, float),
      'init': Arg('random', str),
      'standardize': Arg(False, bool),
      'input_key': Arg('image', str),
      'label_key': Arg('label', str),
      'label_names': Arg((), tuple),
  }

  def __init__(self, config, model, tx):
    del tx  # competitive learning has no gradient and no optimizer
    self.config, self.model = config, model
    a = resolve(config, type(self), model)
    rows, cols = model.rows, model.cols
    self.variant = a.variant
    if self.variant not in ('batch', 'online'):
      raise UserError(f'objective_args.variant={self.variant!r}: use batch or online')
    self.radius = (float(a.radius_start), float(a.radius_end))
    self.rate = (float(a.rate_start), float(a.rate_end))
    self.init = a.init
    if self.init not in ('random', 'sample', 'pca'):
      raise UserError(f'objective_args.init={self.init!r}: use random, sample or pca')
    self.standardize = bool(a.standardize)
    self.input_key = a.input_key
    self.label_key = a.label_key
    self.label_names = tuple(a.label_names)
    self.num_steps = config.num_steps
    pos = np.asarray(som_model.grid_positions(rows, cols))
    # Squared grid distances between all pairs of units; small (units^2), fixed by the model.
    self.grid_d2 = ((pos[:, None, :] - pos[None, :, :]) ** 2).sum(-1).astype(np.float32)

  # -- helpers ----------------------------------------------------------------------------------
  def inputs(self, state, batch):
    x = batch[self.input_key]
    x = x.reshape(x.shape[0], -1).astype(jnp.float32)
    if self.standardize:
      s = state.model_state['input_stats']
      x = (x - s['mean']) / s['std']
    return x

  def schedule(self, step):
    """(radius, rate) at `step`: exponential decay from start to end over num_steps."""
    t = step.astype(jnp.float32) / max(self.num_steps - 1, 1)
    (r0, r1), (a0, a1) = self.radius, self.rate
    return r0 * (r1 / r0) ** t, a0 * (a1 / a0) ** t

  def distances(self, state, x):
    return self.model.apply({'params': state.params}, x)

  # -- the contract ------------------------------------------------------------------------------
  def init_state(self, rng, batch) -> TrainState:
    init_rng, base = jax.random.split(rng)
    x = batch[self.input_key]
    x = x.reshape(x.shape[0], -1).astype(jnp.float32)
    model_state = {}
    if self.standardize:
      stats = {'mean': x.mean(0), 'std': x.std(0) + 1e-6}
      model_state['input_stats'] = stats
      x = (x - stats['mean']) / stats['std']
    params = self.model.init(init_rng, x)['params']
    units = self.model.rows * self.model.cols
    if self.init == 'random':
      lo, hi = x.min(0), x.max(0)
      w = lo + (hi - lo) * jax.random.uniform(init_rng, (units, x.shape[1]))
    elif self.init == 'sample':
      w = x[jax.random.randint(init_rng, (units,), 0, x.shape[0])]
    else:
      mean = x.mean(0)
      _, s, vt = jnp.linalg.svd(x - mean, full_matrices=False)
      std = s[:2] / jnp.sqrt(x.shape[0])
      pos = som_model.grid_positions(self.model.rows, self.model.cols)
      span = jnp.array([self.model.rows, self.model.cols], jnp.float32) - 1
      coord = 2 * pos / jnp.maximum(span, 1) - 1          # [-1, 1] along each grid axis
      w = mean + (2 * coord * std) @ vt[:2]               # the grid spans +-2 std of each PC
    params = {'prototypes': w.astype(jnp.float32)}
    return TrainState(step=jnp.zeros((), jnp.int32), params=params, opt_state={},
                      model_state=model_state, rng=base)

  def train_step(self, state: TrainState, batch):
    x = self.inputs(state, batch)
    w = state.params['prototypes']
    radius, rate = self.schedule(state.step)
    grid_d2 = jnp.asarray(self.grid_d2)
    d2 = self.distances(state, x)
    qe = jnp.sqrt(d2.min(-1)).mean()  # before this update: the map that saw these examples
    if self.variant == 'batch':
      h = jnp.exp(-grid_d2[jnp.argmin(d2, -1)] / (2 * radius ** 2))   # [B, units]
      num = h.T @ x                # sums over the (sharded) batch: a cross-device reduction
      den = h.sum(0)[:, None]
      target = jnp.where(den > 1e-12, num / jnp.maximum(den, 1e-12), w)
      w = w + rate * (target - w)
    else:
      def one(w, xi):
        b = jnp.argmin(jnp.sum(jnp.square(w - xi), -1))
        h = jnp.exp(-grid_d2[b] / (2 * radius ** 2))
        return w + rate * h[:, None] * (xi - w), None
      w, _ = jax.lax.scan(one, w, x)
    new = state.replace(step=state.step + 1, params={'prototypes': w})
    return new, {'loss': qe, 'quantization_error': qe}

  def logged_schedule(self, step, lr):
    """The neighbourhood radius and rate of `step`; the optimizer's lr means nothing here."""
    del lr
    radius, rate = self.schedule(np.asarray(step))
    return {'radius': float(radius), 'rate': float(rate)}

  def bmus(self, state, batch):
    """(quantization error, topographic error, BMU) per example."""
    d2 = self.distances(state, self.inputs(state, batch))
    order = jnp.argsort(d2, -1)
    first, second = order[:, 0], order[:, 1]
    qe = jnp.sqrt(jnp.take_along_axis(d2, first[:, None], -1)[:, 0])
    te = (jnp.asarray(self.grid_d2)[first, second] > 1.0).astype(jnp.float32)
    return qe, te, first

  def eval_step(self, state: TrainState, batch):
    qe, te, _ = self.bmus(state, batch)
    mask = batch['mask']
    return {'loss': (qe * mask).sum(), 'quantization_error': (qe * mask).sum(),
            'topographic_error': (te * mask).sum(), 'count': mask.sum()}

  def plots(self, state, batch, directory):
    from train import plots
    from train.objectives import som_pictures
    _, _, bmu = self.bmus(state, batch)
    names = None
    if self.config.data.name == 'nnzoo_iris':
      from train.datasets import iris
      names = list(iris.FEATURE_NAMES)
    x = batch[self.input_key]
    # Image inputs: the prototypes drawn as images (a plane per pixel would say little).
    shape = x.shape[1:3] if plots.images_problem(x) is None and x.shape[3:] in ((), (1,)) else None
    planes = directory / ('prototypes.png' if shape else 'component_planes.png')
    return som_pictures.maps(state.params['prototypes'], (self.model.rows, self.model.cols), bmu,
                             batch.get(self.label_key), batch['mask'], directory / 'u_matrix.png',
                             planes, directory / 'hit_map.png', names, self.label_names, shape)


def majority_labels(bmu, labels, units: int) -> np.ndarray:
  """[units] the class most of the examples that a unit wins belong to (ties: the smallest
  class), -1 for a unit that wins none; `bmu` and `labels` are per example."""
  bmu, labels = np.asarray(bmu, np.int64), np.asarray(labels, np.int64)
  counts = np.zeros((units, int(labels.max(initial=0)) + 1), np.int64)
  np.add.at(counts, (bmu, labels), 1)
  return np.where(counts.sum(1) > 0, counts.argmax(1), -1)
