"""Fitting an RBF network in closed form (Moody & Darken 1989), as steps of the one engine.

The run's steps fall into three phases, chosen inside the jitted step by the step number:

  1. steps [0, kmeans_steps): Lloyd's k-means on the batch moves the centres to the means of the
     examples they are nearest to (centres start at distinct random examples of the first batch).
  2. steps [kmeans_steps, kmeans_steps + fit_steps): widths from the centres (`width` 0: width_scale
     x the RMS distance to the `neighbours` nearest other centres, Moody & Darken's p-nearest-
     neighbour heuristic; `width` > 0: that width for every unit), then the output weights by
     regularized least squares: the normal equations [phi 1]^T [phi 1] and [phi 1]^T y are summed
     over the batches of this phase and solved (ridge * n on the diagonal, bias unpenalized) at
     every step.
  3. the remaining steps: optional end-to-end gradient fine-tuning of centres, widths and weights
     on the mean squared error with the config's optimizer (`tx`; only this phase uses it).

With the batch = the whole training split, kmeans_steps Lloyd iterations and fit_steps = 1, phases 1
and 2 are exactly batch k-means followed by the least-squares solution. All sums run over the
(sharded) batch, so they reduce across the 'data' axis under jit.

The logs show the optimizer's learning rate only for phase-3 steps (`logged_schedule`).

Classification (`classes` > 0): the targets are integer labels under `target_key`, fitted as
one-hot vectors of `classes` entries (least squares, and the fine-tuning's squared error, on those);
the predicted class is the largest output (Moody & Darken's and Broomhead & Lowe's networks fit
real-valued outputs; one-hot targets make them classifiers).

Metrics: `loss` is the batch MSE of the network after the step, `inertia` the k-means objective
(mean squared distance to the nearest centre). Eval reports per target `mse_<name>` and
`nmse_<name>` (the MSE over the variance of that target in the training data), and `summarize`
adds the non-dimensional error index of the time-series literature, `ndei_<name>` = sqrt(nmse);
a classifier reports `loss` (the MSE against the one-hot targets) and `accuracy` instead, and the
confusion matrix of the eval split as a picture.

objective_args: kmeans_steps (20), fit_steps (1), width (0 = nearest-neighbour heuristic),
width_scale (1.0), neighbours (2), ridge (1e-6), input_key ('inputs'), target_key ('targets'),
target_index (which target columns; default all), target_names (metric names; default t0, t1, ...),
classes (0: regression; K > 0: classification into K classes).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax

from train.errors import UserError
from train.objectives import classification
from train.objectives.arguments import Arg
from train.objectives.arguments import resolve
from train.state import TrainState


def squared_distances(x, c):
  return jnp.maximum(jnp.sum(x * x, -1, keepdims=True) - 2 * x @ c.T
                     + jnp.sum(c * c, -1)[None, :], 0.0)


def kmeans_step(x, centres):
  """One Lloyd iteration: (new centres, inertia of the old ones). Empty clusters stay put."""
  d2 = squared_distances(x, centres)
  # Sums per cluster by scatter-add, not a one-hot matmul (as costly as the distances); over a
  # sharded batch XLA adds each device's part and all-reduces the [k, D] sums.
  nearest, k = jnp.argmin(d2, -1), centres.shape[0]
  sums = jax.ops.segment_sum(x, nearest, k)
  counts = jax.ops.segment_sum(jnp.ones(x.shape[0], x.dtype), nearest, k)[:, None]
  new = jnp.where(counts > 0, sums / jnp.maximum(counts, 1), centres)
  return new, d2.min(-1).mean()


def nearest_widths(centres, neighbours: int, scale: float):
  """scale x RMS distance of each centre to its `neighbours` nearest other centres."""
  d2 = squared_distances(centres, centres)
  d2 = jnp.sort(d2 + jnp.diag(jnp.full(centres.shape[0], jnp.inf)), -1)[:, :neighbours]
  return scale * jnp.sqrt(d2.mean(-1) + 1e-12)


def solve_ridge(gram, xty, n, ridge):
  """argmin_W |P W - Y|^2 + ridge n |W[:-1]|^2 from the normal equations (bias = last row)."""
  penalty = jnp.ones(gram.shape[0]).at[-1].set(0.0) * ridge * n
  return jnp.linalg.solve(gram + jnp.diag(penalty), xty)


class RBFObjective:
  ARGS = {
      'kmeans_steps': Arg(20, int),
      'fit_steps': Arg(1, int),
      'width': Arg(0.0, float),
      'width_scale': Arg(1.0, float),
      'neighbours': Arg(2, int),
      'ridge': Arg(1e-6, float),
      'input_key': Arg('inputs', str),
      'target_key': Arg('targets', str),
      'target_index': Arg((), tuple),
      'target_names': Arg((), tuple),
      'classes': Arg(0, int),
  }

  def __init__(self, config, model, tx):
    self.config, self.model, self.tx = config, model, tx
    a = resolve(config, type(self), model)
    self.kmeans_steps = int(a.kmeans_steps)
    self.fit_steps = int(a.fit_steps)
    self.width = float(a.width)
    self.width_scale = float(a.width_scale)
    self.neighbours = int(a.neighbours)
    self.ridge = float(a.ridge)
    self.input_key = a.input_key
    self.target_key = a.target_key
    self.target_index = tuple(a.target_index)
    self.target_names = tuple(a.target_names)
    self.classes = int(a.classes)
    if self.classes and self.classes != model.num_outputs:
      raise UserError(f'objective_args.classes={self.classes} but the model has '
                      f'{model.num_outputs} outputs (config.model.num_outputs): one per class')

  # -- helpers ----------------------------------------------------------------------------------
  def xy(self, batch):
    x = batch[self.input_key]
    x = x.reshape(x.shape[0], -1).astype(jnp.float32)
    if self.classes:   # integer labels -> one-hot targets
      return x, jax.nn.one_hot(batch[self.target_key].reshape(-1), self.classes)
    y = batch[self.target_key].astype(jnp.float32)
    y = y.reshape(y.shape[0], -1)
    if self.target_index:
      y = y[:, jnp.array(self.target_index)]
    return x, y

  def names(self, count):
    return self.target_names or tuple(f't{i}' for i in range(count))

  def predict(self, params, x):
    return self.model.apply({'params': params}, x)

  # -- the contract ------------------------------------------------------------------------------
  def init_state(self, rng, batch) -> TrainState:
    init_rng, pick_rng, base = jax.random.split(rng, 3)
    x, y = self.xy(batch)
    params = self.model.init(init_rng, x)['params']
    k = self.model.num_centres
    # Centres start at distinct examples of the first batch (repeated ones if it is smaller than
    # k: k-means then leaves the copies where they are, so use a batch of at least k examples).
    start = x[jax.random.choice(pick_rng, x.shape[0], (k,), replace=x.shape[0] < k)]
    params['units'] = {'centres': start, 'log_width': params['units']['log_width']}
    t = y.shape[1]
    fit = {'gram': jnp.zeros((k + 1, k + 1)), 'xty': jnp.zeros((k + 1, t)), 'n': jnp.zeros(()),
           'y_sum': jnp.zeros(t), 'y_sq': jnp.zeros(t)}
    return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                      opt_state=self.tx.init(params), model_state={'fit': fit}, rng=base)

  def _kmeans(self, state, x, y):
    del y
    centres, _ = kmeans_step(x, state.params['units']['centres'])
    params = {**state.params, 'units': {**state.params['units'], 'centres': centres}}
    return params, state.model_state, state.opt_state

  def _least_squares(self, state, x, y):
    units = state.params['units']
    if self.width <= 0:
      widths = nearest_widths(units['centres'], self.neighbours, self.width_scale)
    else:
      widths = jnp.full(units['centres'].shape[0], self.width)
    params = {**state.params, 'units': {**units, 'log_width': jnp.log(widths)}}
    phi = self.model.apply({'params': params}, x, method='features')
    p = jnp.concatenate([phi, jnp.ones((phi.shape[0], 1), phi.dtype)], 1)
    first = state.step == self.kmeans_steps   # a fresh sum at the start of the phase
    old = jax.tree.map(lambda a: jnp.where(first, jnp.zeros_like(a), a), state.model_state['fit'])
    fit = {'gram': old['gram'] + p.T @ p, 'xty': old['xty'] + p.T @ y,
           'n': old['n'] + x.shape[0], 'y_sum': old['y_sum'] + y.sum(0),
           'y_sq': old['y_sq'] + (y * y).sum(0)}
    w = solve_ridge(fit['gram'], fit['xty'], fit['n'], self.ridge)
    params['readout'] = {'kernel': w[:-1], 'bias': w[-1]}
    return params, {**state.model_state, 'fit': fit}, state.opt_state

  def _fine_tune(self, state, x, y):
    def loss_fn(params):
      return jnp.mean(jnp.square(self.predict(params, x) - y))
    grads = jax.grad(loss_fn)(state.params)
    updates, opt_state = self.tx.update(grads, state.opt_state, state.params)
    return optax.apply_updates(state.params, updates), state.model_state, opt_state

  def train_step(self, state: TrainState, batch):
    x, y = self.xy(batch)
    phase = ((state.step >= self.kmeans_steps).astype(jnp.int32)
             + (state.step >= self.kmeans_steps + self.fit_steps).astype(jnp.int32))
    params, model_state, opt_state = jax.lax.switch(
        phase, (self._kmeans, self._least_squares, self._fine_tune), state, x, y)
    pred, d2 = self.model.apply({'params': params}, x, method='outputs_and_distances')
    loss = jnp.mean(jnp.square(pred - y))
    inertia = d2.min(-1).mean()
    new = state.replace(step=state.step + 1, params=params, opt_state=opt_state,
                        model_state=model_state)
    return new, {'loss': loss, 'inertia': inertia, 'phase': phase.astype(jnp.float32)}

  def logged_schedule(self, step, lr):
    """The optimizer's lr only in the fine-tuning steps, the only ones that use it."""
    return {'lr': lr} if step >= self.kmeans_steps + self.fit_steps else {}

  def target_variance(self, state):
    fit = state.model_state['fit']
    n = jnp.maximum(fit['n'], 1.0)
    return jnp.maximum(fit['y_sq'] / n - jnp.square(fit['y_sum'] / n), 1e-12)

  def eval_step(self, state: TrainState, batch):
    x, y = self.xy(batch)
    pred = self.predict(state.params, x)
    err2 = jnp.square(pred - y) * batch['mask'][:, None]
    sums = {'loss': err2.mean(-1).sum(), 'count': batch['mask'].sum()}
    if self.classes:
      labels = batch[self.target_key].reshape(-1)
      correct = (jnp.argmax(pred, -1) == labels).astype(jnp.float32)
      return {**sums, 'accuracy': (correct * batch['mask']).sum(),
              **classification.confusion_table(pred, labels, batch['mask'])}
    var = self.target_variance(state)
    for i, name in enumerate(self.names(y.shape[1])):
      sums[f'mse_{name}'] = err2[:, i].sum()
      sums[f'nmse_{name}'] = err2[:, i].sum() / var[i]
    return sums

  def summarize(self, means):
    """Eval means -> the same plus NDEI, which is not a mean over examples."""
    out = dict(means)
    for key, value in means.items():
      if key.startswith('nmse_'):
        out['ndei_' + key[len('nmse_'):]] = math.sqrt(max(value, 0.0))
    return out

  def plot_tables(self, tables, directory, label_names=()):
    return classification.draw_confusion(tables, directory, label_names)

  def plots(self, state, batch, directory):
    from train import plots
    from train.objectives import rbf_pictures
    x, y = self.xy(batch)
    if self.classes:
      guess = jnp.argmax(self.predict(state.params, x), -1)
      return [plots.prediction_grid(batch[self.input_key], batch[self.target_key], guess,
                                    directory / 'predictions.png')]
    keep = np.asarray(batch['mask']) > 0
    pred = np.asarray(self.predict(state.params, x))[keep]
    y = np.asarray(y)[keep]
    if 't' in batch:  # TFDS stores examples in hashed order: put a time series back in time order
      order = np.argsort(np.asarray(batch['t'])[keep])
      y, pred = y[order], pred[order]
    return [rbf_pictures.prediction_vs_truth(y, pred, list(self.names(y.shape[1])),
                                             directory / 'prediction_vs_truth.png')]
