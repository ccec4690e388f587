"""What the interpretability claims share: the Fashion-MNIST CNN they explain, and one pass of
`train.explain`'s three methods over its test images, cached with the run (so the three claims
train each seed once at a commit)."""

from experiments import harness
from experiments.fashion import common

EXAMPLES = 1000          # test examples explained and checked (the first of the test split)
METHODS = ('integrated_gradients', 'saliency', 'smoothgrad')


def fashion_cnn(arg: str = ''):
  """The benchmark table's "2 Conv+pooling" net (experiments/fashion/cnn2.py's model and recipe),
  2 epochs instead of 6: accurate enough (~0.89) for its attributions to say something."""
  common.check_arg(arg)
  c = common.base(epochs=2, batch=128)
  c.model.name = 'cnn'
  c.model.variant = 'fashion2conv'
  if arg == 'tiny':
    common.tiny(c)
  elif arg == 'full':
    c.num_steps = common.steps(6, 128)
  return c


def attributions(summary, workdir) -> dict:
  """Runs train.explain's methods on the run's final checkpoint; the numbers the claims read."""
  from train import explain
  found = {'accuracy': summary['eval']['accuracy']}
  for method in METHODS:
    result = explain.explain(workdir, method, eval_examples=EXAMPLES)
    if method == 'integrated_gradients':
      found['completeness_error'] = result['completeness']['mean_relative_error']
      found['completeness_max_error'] = result['completeness']['max_relative_error']
    found[f'spearman_{method}'] = result['randomization']['spearman']
    found[f'spearman_abs_{method}'] = result['randomization']['spearman_abs']
    for key in ('top_accuracy', 'random_accuracy', 'extra_drop_points'):
      found[f'deletion_{key}_{method}'] = result['deletion'][key]
  return found


def explained(seed: int, workdir, overrides=()) -> dict:
  """The Fashion CNN trained with `seed` and explained (read back when trained at this commit)."""
  return harness.cached_eval(fashion_cnn(), seed, workdir, overrides, extra=attributions)
