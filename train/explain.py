"""python -m train.explain --workdir W [--step N] [--method M] [--examples 16]

Which input pixels a trained classifier's decision rests on: attributions of the predicted class's
score to every input value, for a run that `python -m train` left in W (any classifier: MLP, CNN,
ResNet, an RNN reading image rows, ViT; CapsNet's and matrix capsules' score is the class capsule's
length or activation). The score is the objective's `class_scores` (train/objectives/).

Methods, each a pure function of one example, vmapped over examples and jitted:
  saliency              Simonyan, Vedaldi & Zisserman 2014: the gradient of the class score at the
                        input; its map is max over channels of |gradient|.
  integrated_gradients  Sundararajan, Taly & Yan 2017: (x - x') times the gradient averaged along
                        the straight path from the baseline x' (the black image: 0 before
                        config.data.mean/std) to x, at --steps points (midpoint rule); its map sums
                        over channels (signed), and its sum is S(x) - S(x') (completeness).
  smoothgrad            Smilkov et al. 2017: the gradient averaged over --samples copies of x with
                        Gaussian noise of std --noise times x's value range; map as saliency.

Writes W/explain/<method>.png (per example: input, attribution, overlay, with true and predicted
class) and W/explain/<method>.json, with three checks over the first --eval-examples test
examples (default: the whole eval split):
  completeness   (integrated gradients) |sum of attributions - (S(x) - S(x'))| / |S(x) - S(x')|
  randomization  Adebayo et al. 2018: Spearman rank correlation, per example, between the map of
                 the trained model and that of the same architecture with all weights freshly
                 drawn (a seed the run did not use), for the same class; low = the method depends
                 on what the model learned
  deletion       Samek et al. 2017 (pixel flipping): test accuracy after setting the 10% most
                 attributed pixels of each example to black, against 10% random pixels
The checkpoint is read whatever number of devices wrote it; the examples are split over all
devices here.
"""

import argparse
import functools
import json
import logging
import math
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from etils import epath

from train import atomic
from train import cli
from train import checkpoint
from train import config as config_lib
from train import data
from train import loop
from train import sharding as sharding_lib
from train.errors import UserError

HELP = __doc__

METHODS = ('saliency', 'integrated_gradients', 'smoothgrad')
DELETE_FRACTION = 0.1
# Model inputs per compiled call (examples x path points or noise samples): bounds the memory of
# one call's activations, and keeps every call the same shape (one compile).
POINTS_PER_CALL = 1024
REINIT_STREAM = 1   # fold_in(run's init key, 1): the randomization check's weights, not the run's
NOISE_SEED = 0


# --- The methods: pure functions of a class-score function and one example ----------------------

def _gradients(score_fn, points, target):
  """d S_target / d p for each point p of a batch. The model sees every point as an example of its
  own (evaluation mode: batch-norm statistics are fixed, no example sees another), so the gradient
  of their summed scores holds each point's own gradient, in one backward pass."""
  return jax.grad(lambda p: score_fn(p)[:, target].sum())(points)


def saliency(score_fn, x, target, key=None):
  """The gradient of class `target`'s score at `x` (one example, no batch axis)."""
  del key
  return _gradients(score_fn, x[None], target)[0]


def integrated_gradients(score_fn, x, target, key=None, *, baseline, steps: int = 64):
  """(x - baseline) * the mean gradient at `steps` points of the straight path between them, at
  the midpoints of equal intervals: exact for a score quadratic along the path, where the left
  or right Riemann sum is off by half an interval."""
  del key
  alphas = (jnp.arange(steps, dtype=x.dtype) + 0.5) / steps
  path = baseline + alphas.reshape((steps,) + (1,) * x.ndim) * (x - baseline)
  return (x - baseline) * _gradients(score_fn, path, target).mean(0)


def smoothgrad(score_fn, x, target, key, *, samples: int = 50, noise: float = 0.15):
  """The mean gradient over `samples` copies of x plus N(0, sigma^2) noise, sigma = noise times
  x's value range (Smilkov et al. 2017 find 10-20% best)."""
  sigma = noise * (x.max() - x.min())
  noisy = x + sigma * jax.random.normal(key, (samples,) + x.shape, x.dtype)
  return _gradients(score_fn, noisy, target).mean(0)


FUNCTIONS = {'saliency': saliency, 'integrated_gradients': integrated_gradients,
             'smoothgrad': smoothgrad}


def points_per_example(method: str, options: dict) -> int:
  return {'saliency': 1, 'integrated_gradients': options.get('steps', 64),
          'smoothgrad': options.get('samples', 50)}[method]


def pixel_map(method: str, attributions):
  """[N, H, W, C] attributions -> [N, H, W] maps (other shapes are kept): integrated gradients
  summed over channels, as completeness adds them; a gradient's largest magnitude over channels
  (Simonyan et al.'s saliency map)."""
  a = np.asarray(attributions)
  if a.ndim != 4:
    return np.abs(a) if method != 'integrated_gradients' else a
  return a.sum(-1) if method == 'integrated_gradients' else np.abs(a).max(-1)


def spearman(a, b):
  """Per row of [N, ...] maps: Spearman's rank correlation, tied values sharing their mean rank
  (many pixels of a digit are exactly 0); NaN where a map is constant."""
  from scipy import stats
  ra = stats.rankdata(np.asarray(a).reshape(len(a), -1), axis=1)
  rb = stats.rankdata(np.asarray(b).reshape(len(b), -1), axis=1)
  ra, rb = ra - ra.mean(1, keepdims=True), rb - rb.mean(1, keepdims=True)
  norm = np.sqrt((ra ** 2).sum(1) * (rb ** 2).sum(1))
  with np.errstate(invalid='ignore', divide='ignore'):
    return np.where(norm > 0, (ra * rb).sum(1) / norm, np.nan)


def scores_of(objective, variables):
  """Batch of inputs -> [N, K] class scores of the model with `variables`, in evaluation mode."""
  def scores(x):
    out = objective.forward(variables, {objective.input_key: x}, train=False, rngs={},
                            mutable=False)
    return objective.class_scores(out)
  return scores


def make_attribute(objective, method: str, **options):
  """A jitted (variables, inputs [N, ...], targets [N], keys [N, 2]) -> attributions [N, ...]."""
  one = functools.partial(FUNCTIONS[method], **options)

  def attribute(variables, xs, targets, keys):
    score_fn = scores_of(objective, variables)
    return jax.vmap(lambda x, t, k: one(score_fn, x, t, k))(xs, targets, keys)
  return jax.jit(attribute)


# --- Running over a split ----------------------------------------------------------------------

def in_calls(fn, arrays, per_call: int, sharding):
  """fn over the leading axis of host `arrays`, `per_call` examples a call (a multiple of the
  devices, the inputs split over them); the last call is padded with copies of its first example,
  so every call has one shape, and the padding's outputs are dropped."""
  n, outs = len(arrays[0]), []
  for start in range(0, n, per_call):
    part = [a[start:start + per_call] for a in arrays]
    m = len(part[0])
    if m < per_call:
      part = [np.concatenate([p, np.repeat(p[:1], per_call - m, 0)]) for p in part]
    outs.append(np.asarray(jax.device_get(fn(*[jax.device_put(p, sharding) for p in part])))[:m])
  return np.concatenate(outs)


def _per_call(points: int, devices: int, n: int) -> int:
  """Examples a call: up to POINTS_PER_CALL model inputs, no more than `n` rounded up to the
  devices, a multiple of the devices."""
  per_device = min(max(1, POINTS_PER_CALL // (points * devices)), -(-n // devices))
  return devices * per_device


def explain(workdir, method: str = 'integrated_gradients', *, step: int | None = None,
            examples: int = 16, eval_examples: int = 0, steps: int = 64, samples: int = 50,
            noise: float = 0.15, overrides=()) -> dict:
  """Computes `method`'s attributions for a run in `workdir` and writes workdir/explain/
  <method>.png and .json; returns what the JSON holds."""
  t0 = time.perf_counter()
  workdir = epath.Path(workdir if '://' in str(workdir) else os.path.abspath(workdir))

  # --- The run: its config, placed over this machine's devices ---------------------------------
  config = _saved_config(workdir, overrides)
  step = _pick_step(workdir, step)
  devices = jax.device_count()
  with config.unlocked():   # placement and batch sizes are this tool's, not the run's math
    config.sharding.rules, config.sharding.fsdp = (), False
    config.data.batch_size = config.data.eval_batch_size = devices * max(1, 256 // devices)
  mesh = sharding_lib.make_mesh({'data': -1})
  sharding, replicated = sharding_lib.batch_sharding(mesh), sharding_lib.replicated(mesh)
  pipeline = data.make_pipeline(config, sharding)
  first = data.global_batch(pipeline.train_batch(0), sharding)
  run = loop.build(config, mesh, first)
  objective = run.objective
  _check_explainable(config, objective)

  # --- Weights: the checkpoint, and a fresh draw of the same architecture ------------------------
  state = _restore(workdir, step, run)
  variables = jax.device_put({'params': state['params'], **state['model_state']}, replicated)
  fresh = jax.jit(objective.init_state)(jax.random.fold_in(run.rng, REINIT_STREAM), first)
  fresh = jax.device_put({'params': fresh.params, **fresh.model_state}, replicated)

  # --- Test examples ---------------------------------------------------------------------------
  xs, labels = _eval_examples(pipeline, objective, eval_examples)
  normalize = data.normalizer(config.data.mean, config.data.std, objective.input_key)
  black = np.zeros((1,) + xs.shape[1:], xs.dtype)
  black = normalize({objective.input_key: black})[objective.input_key] if normalize else black

  # --- Scores, attributions, checks -------------------------------------------------------------
  score = jax.jit(lambda v, x: scores_of(objective, v)(x))
  scores = in_calls(lambda x: score(variables, x), [xs], _per_call(1, devices, len(xs)), sharding)
  predicted = scores.argmax(-1)
  options = {'integrated_gradients': dict(baseline=jnp.asarray(black[0]), steps=steps),
             'smoothgrad': dict(samples=samples, noise=noise)}.get(method, {})
  attribute = make_attribute(objective, method, **options)
  keys = np.asarray(jax.vmap(lambda i: jax.random.fold_in(jax.random.PRNGKey(NOISE_SEED), i))(
      np.arange(len(xs))))
  per_call = _per_call(points_per_example(method, options), devices, len(xs))
  attributions = in_calls(lambda x, t, k: attribute(variables, x, t, k),
                          [xs, predicted, keys], per_call, sharding)
  attributions_fresh = in_calls(lambda x, t, k: attribute(fresh, x, t, k),
                                [xs, predicted, keys], per_call, sharding)
  maps, maps_fresh = pixel_map(method, attributions), pixel_map(method, attributions_fresh)

  def predict(x):
    return in_calls(lambda b: score(variables, b), [x], _per_call(1, devices, len(x)),
                    sharding).argmax(-1)

  result = {
      'method': method, 'workdir': str(workdir), 'step': step,
      'model': f'{config.model.name}/{config.model.get("variant", "")}',
      'objective': config.objective, 'data': f'{config.data.name}:{config.data.eval_split}',
      'settings': {**{k: v for k, v in options.items() if k != 'baseline'},
                   **({'baseline': 'black (0 before config.data.mean/std)'}
                      if method == 'integrated_gradients' else {}),
                   **({'noise_seed': NOISE_SEED} if method == 'smoothgrad' else {})},
      'num_examples': len(xs),
  }
  if method == 'integrated_gradients':
    at_black = np.asarray(score(variables, jnp.asarray(black)))[0]
    result['completeness'] = completeness(attributions, scores, at_black, predicted)
  rho, rho_abs = spearman(maps, maps_fresh), spearman(np.abs(maps), np.abs(maps_fresh))
  result['randomization'] = {
      'spearman': _mean(rho), 'spearman_abs': _mean(rho_abs),
      'examples': int(np.sum(~np.isnan(rho))),
      'weights': 'all layers freshly drawn (a seed the run did not use), same class as explained'}
  result['deletion'] = deletion(predict, xs, labels, maps, black[0])
  m = min(examples, len(xs))
  names = pipeline.label_names
  result['examples'] = [
      {'index': i, 'label': int(labels[i]), 'predicted': int(predicted[i]),
       **({'label_name': names[labels[i]], 'predicted_name': names[predicted[i]]}
          if len(names) > max(labels[i], predicted[i]) else {}),
       'score': float(scores[i, predicted[i]]), 'attribution_sum': float(attributions[i].sum())}
      for i in range(m)]
  result['seconds'] = round(time.perf_counter() - t0, 2)

  # --- Picture and numbers -----------------------------------------------------------------------
  out = workdir / 'explain'
  out.mkdir(parents=True, exist_ok=True)
  from train import plots
  shown = xs[:m]
  if normalize:   # shown as the pixels were before normalization
    shown = shown * np.asarray(config.data.std, np.float32) + np.asarray(config.data.mean,
                                                                          np.float32)
  plots.attribution_grid(shown, maps[:m], labels[:m], predicted[:m], names,
                         signed=method == 'integrated_gradients',
                         title=f'{method} of the predicted class: {result["model"]} at step {step}',
                         path=out / f'{method}.png')
  atomic.write(out / f'{method}.json', json.dumps(result, indent=2) + '\n')
  return result


def completeness(attributions, scores, at_baseline, targets) -> dict:
  """How far each example's attributions sum from S(x) - S(baseline) of its class, relative."""
  n = len(attributions)
  total = attributions.reshape(n, -1).sum(1)
  delta = scores[np.arange(n), targets] - at_baseline[targets]
  error = np.abs(total - delta) / np.maximum(np.abs(delta), 1e-12)
  return {'mean_relative_error': float(error.mean()), 'max_relative_error': float(error.max()),
          'mean_abs_score_change': float(np.abs(delta).mean())}


def deletion(predict, xs, labels, maps, black, fraction: float = DELETE_FRACTION) -> dict:
  """Accuracy on `xs` as it is, with each example's `fraction` most attributed pixels (largest map
  value) set to `black`, and with as many random pixels set to black."""
  n = len(xs)
  flat = maps.reshape(n, -1)
  k = max(1, int(round(fraction * flat.shape[1])))
  rng = np.random.default_rng(NOISE_SEED)

  def without(chosen):
    mask = np.zeros(flat.shape, bool)
    np.put_along_axis(mask, chosen, True, axis=1)
    mask = mask.reshape(maps.shape)
    if xs.ndim == maps.ndim + 1:   # a pixel is all its channels
      mask = mask[..., None]
    return np.where(mask, black, xs)

  accuracy = lambda x: float(np.mean(predict(x) == labels))  # noqa: E731
  top = accuracy(without(np.argsort(-flat, axis=1, kind='stable')[:, :k]))
  random = accuracy(without(np.argsort(rng.random(flat.shape), axis=1)[:, :k]))
  clean = accuracy(xs)
  return {'fraction': fraction, 'pixels': k, 'accuracy': clean, 'top_accuracy': top,
          'random_accuracy': random,
          'extra_drop_points': round(100 * (random - top), 2)}


def _mean(values) -> float | None:
  values = np.asarray(values, np.float64)
  return float(np.nanmean(values)) if np.any(~np.isnan(values)) else None


# --- Reading the run ------------------------------------------------------------------------------

def _saved_config(workdir, overrides):
  path = workdir / 'config.json'
  if not path.exists():
    raise UserError(f'--workdir {workdir} has no config.json: name the workdir of a run of '
                    f'python -m train')
  config = config_lib.from_json(path.read_text())
  config_lib.apply_overrides(config, list(overrides))
  config_lib.validate(config)
  return config


def _check_explainable(config, objective):
  if not hasattr(objective, 'class_scores') or getattr(objective, 'two_digits', False):
    raise UserError(f'objective {config.objective!r} has no single predicted class to explain; '
                    f'train.explain explains classifiers (objectives classification, capsule)')
  if objective.extra_inputs:
    raise UserError(f'the model also takes {", ".join(objective.extra_inputs)}; train.explain '
                    f'attributes to one input')


def _pick_step(workdir, step):
  """`step`, or the newest, if the workdir has a checkpoint of it (checked before any work)."""
  directory = workdir / 'checkpoints'
  have = sorted(int(p.name) for p in directory.iterdir() if p.name.isdigit()) if (
      directory.is_dir()) else []
  if not have:
    raise UserError(f'--workdir {workdir} has no checkpoint (checkpoints/ is empty or missing)')
  if step is not None and step not in have:
    raise UserError(f'--step {step}: no checkpoint of that step in {directory}; there are steps '
                    f'{", ".join(map(str, have))}')
  return have[-1] if step is None else step


def _restore(workdir, step, run):
  """The state of checkpoint `step` as host arrays, whatever devices wrote it; its parameters must
  be the config's model's."""
  directory = workdir / 'checkpoints'
  try:
    _, state = checkpoint.read_state(directory, step)
  except (FileNotFoundError, ValueError, KeyError) as e:
    raise UserError(f'checkpoint step {step} in {directory} is unreadable '
                    f'({str(e).splitlines()[0][:200] if str(e) else type(e).__name__})') from None
  want = jax.tree.map(lambda a: tuple(a.shape), run.abstract_state.params)
  got = jax.tree.map(lambda a: tuple(a.shape), state['params'])
  if want != got:
    raise UserError(f'the checkpoint of {workdir} (step {step}) does not hold the parameters of '
                    f'the config\'s model {run.objective.config.model.name} (an override changed '
                    f'the model?)')
  return state


def _eval_examples(pipeline, objective, limit: int):
  """The first `limit` (0: all) examples of the eval split, padding dropped: inputs, labels."""
  xs, labels, n = [], [], 0
  for batch in pipeline.eval_batches():
    keep = batch['mask'] > 0
    xs.append(batch[objective.input_key][keep])
    labels.append(batch[objective.label_key][keep])
    n += int(keep.sum())
    if limit and n >= limit:
      break
  xs, labels = np.concatenate(xs)[:limit or None], np.concatenate(labels)[:limit or None]
  if xs.dtype.kind != 'f':
    raise UserError(f'inputs {objective.input_key!r} are {xs.dtype} (tokens?): attributions need '
                    f'real-valued inputs to take gradients at')
  return xs, labels.astype(np.int32)


# --- Command line ---------------------------------------------------------------------------------

def main(argv=None):
  from train.errors import ArgumentParser
  parser = ArgumentParser(prog='python -m train.explain', description=HELP,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--workdir', required=True, help='a run of python -m train')
  parser.add_argument('--step', type=int, default=None, help='checkpoint step (default: newest)')
  parser.add_argument('--method', choices=METHODS, default='integrated_gradients')
  parser.add_argument('--examples', type=int, default=16, help='examples in the picture')
  parser.add_argument('--eval-examples', type=int, default=0, metavar='N',
                      help='test examples the checks run over (default 0: the whole eval split)')
  parser.add_argument('--steps', type=int, default=64,
                      help='integrated gradients: points on the path from the baseline')
  parser.add_argument('--samples', type=int, default=50, help='smoothgrad: noisy copies')
  parser.add_argument('--noise', type=float, default=0.15,
                      help="smoothgrad: noise std as a fraction of the input's value range")
  args, rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
  overrides = cli.config_overrides(parser, rest, example='--config.data.data_dir=DIR')
  for flag, value, least in (('--examples', args.examples, 1), ('--eval-examples',
                                                                 args.eval_examples, 0),
                             ('--steps', args.steps, 1), ('--samples', args.samples, 1)):
    if value < least:
      parser.error(f'{flag} must be at least {least}, got {value}')
  if args.step is not None and args.step < 0:
    parser.error(f'--step must be a checkpoint step (>= 0), got {args.step}')
  if not (math.isfinite(args.noise) and args.noise > 0):
    parser.error(f'--noise must be a positive number, got {args.noise}')
  logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(name)s: %(message)s')
  logging.getLogger('absl').setLevel(logging.ERROR)   # tfds' 'OpenCV is not installed'
  result = explain(args.workdir, args.method, step=args.step, examples=args.examples,
                   eval_examples=args.eval_examples, steps=args.steps, samples=args.samples,
                   noise=args.noise, overrides=overrides)
  print(summary_line(result), flush=True)
  return 0


def summary_line(result: dict) -> str:
  parts = [f'nnzoo: {result["method"]} of {result["model"]} at step {result["step"]} over '
           f'{result["num_examples"]} examples:']
  if 'completeness' in result:
    parts.append(f'completeness error {100 * result["completeness"]["mean_relative_error"]:.2f}%;')
  rho = result['randomization']['spearman']
  parts.append(f'Spearman vs re-initialized {rho:.3f};' if rho is not None else
               'Spearman vs re-initialized undefined (constant maps);')
  d = result['deletion']
  parts.append(f'accuracy {d["accuracy"]:.4f}, top-{100 * d["fraction"]:.0f}% deleted '
               f'{d["top_accuracy"]:.4f}, random {d["random_accuracy"]:.4f};')
  parts.append(f'{result["seconds"]:.1f}s; wrote {result["workdir"]}/explain/{result["method"]}'
               f'.{{png,json}}')
  return ' '.join(parts)


if __name__ == '__main__':
  cli.exit_fast(cli.run_guarded(main))
