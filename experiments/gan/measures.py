"""Numbers of the GAN experiments: on the ring, high-quality sample fraction and modes covered
per seed; on Fashion-MNIST, the Frechet distance of generated images to the test images in a
Fashion classifier's features, and the share of each class among them."""

import dataclasses

import numpy as np
from etils import epath

from experiments import harness

COVERED = 0.01   # a mode is covered when at least 1% of all samples are high-quality and near it


def modes_covered(eval_metrics: dict) -> int:
  return sum(1 for k, v in eval_metrics.items() if k.startswith('mode_') and v >= COVERED)


def ring_run(get_config, seed, workdir, overrides) -> dict:
  config = get_config()
  metrics = harness.seeded_run(config, seed, workdir, overrides)['eval']
  print(f'    seed {seed}: high-quality samples {metrics["high_quality"]:.3f}, modes covered '
        f'{modes_covered(metrics)} of 8', flush=True)
  return metrics


# -- Fashion-MNIST: generated images scored in a domain classifier's features ----------------------
#
# GAN papers on MNIST-like data compute "FID" in the features of a classifier of the domain, not
# Inception's (Heusel et al. 2017 define FID; a domain network is the usual swap for 28x28 grey
# images). Here the classifier is experiments/fashion/cnn2.py's net trained by its own config with
# one fixed seed: one instrument for every claim and seed, trained once a commit and read back by
# the others (harness.cached_files keeps its weights).

SAMPLES = 10_000        # generated images scored: as many as the test split
CLASSIFIER_SEED = 0
SAMPLE_SEED = 1000      # the scored samples' noise is key 1000 + seed, not the eval's fixed key
CLASSES = 10
WEIGHTS = 'classifier.msgpack'
CHUNK = 1000            # images a compiled call takes (the last chunk padded: one compile)


def moments(x) -> tuple:
  """Mean [D] and covariance [D, D] (unbiased) of feature rows x [N, D], in float64."""
  x = np.asarray(x, np.float64).reshape(len(x), -1)
  return x.mean(0), np.atleast_2d(np.cov(x, rowvar=False))


def _sqrt_psd(a):
  """The symmetric square root of a symmetric positive semi-definite matrix (rounding's negative
  eigenvalues read as 0)."""
  values, vectors = np.linalg.eigh((a + a.T) / 2)
  return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_from_moments(mean_a, cov_a, mean_b, cov_b) -> float:
  """Frechet (2-Wasserstein) distance squared between N(mean_a, cov_a) and N(mean_b, cov_b)
  (Dowson & Landau 1982): |mean_a - mean_b|^2 + tr(cov_a + cov_b - 2 (cov_a cov_b)^(1/2)). The
  trace of (cov_a cov_b)^(1/2) is taken as that of the symmetric (A^(1/2) cov_b A^(1/2))^(1/2),
  A^(1/2) = cov_a^(1/2), both roots by eigendecomposition: no complex parts to discard, as a
  general matrix square root leaves."""
  mean_a, mean_b = np.asarray(mean_a, np.float64), np.asarray(mean_b, np.float64)
  cov_a, cov_b = np.asarray(cov_a, np.float64), np.asarray(cov_b, np.float64)
  root = _sqrt_psd(cov_a)
  middle = root @ cov_b @ root
  cross = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
  return float(np.sum(np.square(mean_a - mean_b)) + np.trace(cov_a) + np.trace(cov_b) - 2 * cross)


def frechet_distance(a, b) -> float:
  """The Frechet distance between Gaussians fitted to feature rows a [N, D] and b [M, D]: the
  "FID" formula (Heusel et al. 2017) in whatever features a and b are."""
  return frechet_from_moments(*moments(a), *moments(b))


def class_shares(predicted, classes: int = CLASSES) -> np.ndarray:
  """The fraction of examples given each class [classes] (a mode-coverage histogram)."""
  predicted = np.asarray(predicted)
  return np.bincount(predicted, minlength=classes)[:classes] / max(len(predicted), 1)


def gaussian_samples(train, n: int, seed: int) -> np.ndarray:
  """n draws [n, D] of one Gaussian fitted to the rows of train [N, D] (full covariance), clipped
  to [0, 1], the pixels' range: the baseline of a model that knows the pixels' first two moments
  and nothing more."""
  mean, cov = moments(train)
  draws = np.random.default_rng(seed).multivariate_normal(mean, cov, n, method='eigh')
  return np.clip(draws, 0.0, 1.0)


def classifier_config():
  """The instrument: experiments/fashion/cnn2.py's config (the benchmark table's 2-conv net)."""
  from experiments.fashion import cnn2
  return cnn2.get_config()


@dataclasses.dataclass
class Classifier:
  """A trained Fashion classifier read as a feature map: `features(images)` is the input of its
  last dense layer (the penultimate features), `predict(images)` its class."""
  config: object
  variables: dict
  accuracy: float

  def __post_init__(self):
    import flax.linen as nn
    import jax
    import models
    from train import data
    model = models.build(self.config.model)
    self._normalize = data.normalizer(self.config.data.mean, self.config.data.std)

    def apply(variables, x):
      inputs = []

      def keep_dense_input(next_fun, args, kwargs, context):
        if isinstance(context.module, nn.Dense) and context.method_name == '__call__':
          inputs.append(args[0])
        return next_fun(*args, **kwargs)
      with nn.intercept_methods(keep_dense_input):
        logits = model.apply(variables, x, train=False)
      logits = logits[0] if isinstance(logits, tuple) else logits
      return inputs[-1].reshape(len(x), -1), logits.argmax(-1)
    self._apply = jax.jit(apply)

  def read(self, images) -> tuple:
    """(penultimate features [N, F] float64, predicted classes [N]) of images in [0, 1]."""
    images = np.asarray(images, np.float32).reshape((-1, 28, 28, 1))
    if self._normalize is not None:
      images = self._normalize({'image': images})['image']
    size = min(CHUNK, len(images))
    features, predicted = [], []
    for i in range(0, len(images), size):
      x = images[i:i + size]
      padded = np.concatenate([x, np.zeros((size - len(x),) + x.shape[1:], x.dtype)])
      f, p = self._apply(self.variables, padded)
      features.append(np.asarray(f, np.float64)[:len(x)])
      predicted.append(np.asarray(p)[:len(x)])
    return np.concatenate(features), np.concatenate(predicted)


def _keep_weights(summary, workdir) -> dict:
  """cached_files' extra: the trained classifier's variables as WEIGHTS in its workdir."""
  import jax
  from flax import serialization
  state = summary['state']
  variables = jax.device_get({'params': state.params, **state.model_state})
  (epath.Path(workdir) / WEIGHTS).write_bytes(serialization.msgpack_serialize(
      serialization.to_state_dict(variables)))
  return {}


def trained_classifier(workdir) -> Classifier:
  """classifier_config() trained with CLASSIFIER_SEED in `workdir`, or read back with its weights
  where a run of it finished at this commit. The claim's overrides are the GAN's, not its."""
  from flax import serialization
  config = classifier_config()
  metrics, directory = harness.cached_files(config, CLASSIFIER_SEED, workdir, (),
                                            extra=_keep_weights, keep=(WEIGHTS,))
  variables = serialization.msgpack_restore((epath.Path(directory) / WEIGHTS).read_bytes())
  return Classifier(config, variables, float(metrics['accuracy']))


def _images(config, split: str) -> np.ndarray:
  from experiments.autoencoder import measures as ae_measures
  return ae_measures.split_arrays(config, split)


def scores(classifier, samples, test_moments) -> dict:
  """The Frechet distance of `samples` (images in [0, 1]) to the test images in the classifier's
  features, and the share of the samples it gives each class."""
  features, predicted = classifier.read(samples)
  shares = class_shares(predicted)
  return {'fd': frechet_from_moments(*moments(features), *test_moments),
          'class_shares': [round(float(s), 5) for s in shares],
          'min_class_share': float(shares.min())}


def references(classifier, seed: int, n: int) -> tuple:
  """(the test images' feature moments, {the scale of the measure}): the FD of n train images (a
  model that drew real images would score about this) and of n draws of the Gaussian fitted to
  the train pixels, each with its class shares."""
  config = classifier.config
  test = classifier.read(_images(config, config.data.eval_split))[0]
  test_moments = moments(test)
  train = _images(config, config.data.train_split)
  real = scores(classifier, train[np.random.default_rng(seed).permutation(len(train))[:n]],
                test_moments)
  gaussian = scores(classifier, gaussian_samples(train, n, seed), test_moments)
  return test_moments, {'fd_train_images': real['fd'], 'fd_gaussian': gaussian['fd'],
                        'min_class_share_gaussian': gaussian['min_class_share'],
                        'classifier_accuracy': classifier.accuracy}


def generated(config, state, n: int, seed: int) -> np.ndarray:
  """n images [n, H, W, C] of the trained GAN in `state`, from noise key SAMPLE_SEED + seed."""
  import jax
  import models
  from train import objectives
  objective = objectives.build(config, models.build(config.model), None)
  z = np.asarray(objective.noise(jax.random.PRNGKey(SAMPLE_SEED + seed), n))
  draw = jax.jit(lambda z: objective.generate(state.params, state.model_state, z, False)[0])
  size = min(CHUNK, n)
  out = []
  for i in range(0, n, size):
    chunk = z[i:i + size]
    padded = np.concatenate([chunk, np.zeros((size - len(chunk),) + chunk.shape[1:], chunk.dtype)])
    out.append(np.asarray(draw(padded))[:len(chunk)])
  return np.concatenate(out)


def fashion_gan(get_config, seed: int, workdir, overrides=()) -> dict:
  """The GAN of get_config() trained with `seed` in workdir/gan (read back with its scores when
  it finished at this commit: harness.cached_eval, so the claims on one GAN share its runs),
  scored: 'fd' and 'min_class_share' of SAMPLES generated images, beside the references (the
  Gaussian's FD, real train images' FD, the classifier's test accuracy)."""
  workdir = epath.Path(workdir)
  classifier = trained_classifier(workdir / 'classifier')
  config = get_config()

  def scored(summary, _):   # cached_eval has applied the overrides to `config` by now
    test_moments, found = references(classifier, seed, SAMPLES)
    images = generated(config, summary['state'], SAMPLES, seed)
    return {**scores(classifier, images, test_moments), **found}
  found = harness.cached_eval(config, seed, workdir / 'gan', overrides, extra=scored)
  shares = ' '.join(f'{s:.3f}' for s in found['class_shares'])
  print(f'    seed {seed}: FD {found["fd"]:.3f} (Gaussian fitted to the train pixels '
        f'{found["fd_gaussian"]:.3f}, {SAMPLES} train images {found["fd_train_images"]:.3f}); '
        f'class shares {shares}; classifier test accuracy {found["classifier_accuracy"]:.4f}',
        flush=True)
  return found


def vae_config():
  from experiments.autoencoder import fashion_vae
  return fashion_vae.get_config()


def decoded(config, state, n: int, seed: int) -> np.ndarray:
  """n VAE samples [n, 28, 28, 1]: the decoder's Bernoulli means at codes drawn from the prior
  N(0, I) with key SAMPLE_SEED + seed (the images a VAE's sample grid shows)."""
  import jax
  import models
  from train import objectives
  model = models.build(config.model)
  decode = objectives.build(config, model, None).decoding(state, (28, 28, 1))
  z = np.asarray(jax.random.normal(jax.random.PRNGKey(SAMPLE_SEED + seed), (n, model.code)))
  return np.concatenate([decode(z[i:i + CHUNK]) for i in range(0, n, CHUNK)])


def fashion_vae(seed: int, workdir) -> dict:
  """experiments/autoencoder/fashion_vae.py's VAE trained with `seed` in workdir/vae (read back
  at the same commit), scored as fashion_gan scores a GAN: 'fd', 'min_class_share'."""
  workdir = epath.Path(workdir)
  classifier = trained_classifier(workdir / 'classifier')
  config = vae_config()

  def scored(summary, _):
    test_moments, found = references(classifier, seed, SAMPLES)
    images = decoded(config, summary['state'], SAMPLES, seed)
    return {**scores(classifier, images, test_moments), **found}
  found = harness.cached_eval(config, seed, workdir / 'vae', (), extra=scored)
  print(f'    seed {seed}: VAE samples FD {found["fd"]:.3f} (test negative ELBO '
        f'{found["loss"]:.2f} nats)', flush=True)
  return found
