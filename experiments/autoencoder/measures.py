"""Baselines the autoencoder claims compare against, computed on the same splits as the runs."""

import numpy as np

from train import data


def split_arrays(config, split: str, key: str = 'image') -> np.ndarray:
  """One split of the config's data set as a float array [N, D], scaled like the pipeline."""
  source = data.ArraySource(data.open_source(config.data, split))
  x = data.scale_images({key: source.arrays[key]})[key]
  return x.reshape(len(x), -1).astype(np.float64)


def pca_test_mse(config, code: int) -> float:
  """Test MSE (mean over elements, then examples) of PCA with `code` components fit on train."""
  train = split_arrays(config, config.data.train_split)
  test = split_arrays(config, config.data.eval_split)
  mean = train.mean(0)
  _, _, vt = np.linalg.svd(train - mean, full_matrices=False)
  basis = vt[:code]
  recon = (test - mean) @ basis.T @ basis + mean
  return float(np.mean(np.square(recon - test)))


def masked_test_mse(config, state, level: float) -> float:
  """Test MSE (mean over pixels, then images) against the clean images of the autoencoder in
  `state` given the eval split with a fraction `level` of its pixels zeroed. The masks are the
  ones the reconstruction objective's evaluation draws (train/objectives/reconstruction.py: one
  fixed key for each eval batch of config.data.eval_batch_size, the last one padded), so a model
  trained without corruption is scored on the very inputs a denoising one's eval sees."""
  import jax
  import models
  from train.objectives import reconstruction
  images, _ = test_images(config)
  size = int(config.data.eval_batch_size)
  key = jax.random.PRNGKey(int(config.objective_args.get('eval_seed', 0)))
  model = models.build(config.model)
  variables = {'params': state.params, **state.model_state}

  @jax.jit
  def errors(x):
    seen = reconstruction.corrupt(x, 'mask', level, key)
    r = model.apply(variables, seen, train=False)['reconstruction']
    return jax.numpy.square(r - x).reshape(len(x), -1).sum(-1)
  found = []
  for i in range(0, len(images), size):
    x = images[i:i + size]
    padded = np.concatenate([x, np.zeros((size - len(x),) + x.shape[1:], x.dtype)])
    found.append(np.asarray(errors(padded))[:len(x)])
  return float(np.concatenate(found).astype(np.float64).mean() / np.prod(images.shape[1:]))


MASKED = 0.25   # the fraction of test pixels zeroed for the denoising comparison on Fashion-MNIST


def trained_with_masked_error(config, seed: int, workdir, overrides=()) -> dict:
  """The eval metrics of `config` trained with `seed` in `workdir`, and 'masked_mse': its test
  MSE against the clean images when given them with MASKED of their pixels zeroed
  (masked_test_mse). A run of the same config and seed at this commit is read back
  (harness.cached_eval), so fashion_ae.py and fashion_denoising.py share the plain autoencoder's
  runs."""
  from experiments import harness

  def masked(summary, workdir):   # cached_eval has applied the overrides to `config` by now
    del workdir
    return {'masked_mse': masked_test_mse(config, summary['state'], MASKED)}
  return harness.cached_eval(config, seed, workdir, overrides, extra=masked)


def bernoulli_pixels_nll(config) -> float:
  """Test negative log-likelihood (nats per image) of independent Bernoulli pixels whose means
  are the train pixels' means, clipped as the VAE's likelihood clips its own (the baseline a VAE
  with a Bernoulli decoder must beat: a model of no dependence between pixels)."""
  p = np.clip(split_arrays(config, config.data.train_split).mean(0), 1e-6, 1 - 1e-6)
  test = split_arrays(config, config.data.eval_split)
  return float(-(test * np.log(p) + (1 - test) * np.log1p(-p)).sum(-1).mean())


# -- One-class anomaly detection (Ruff et al. 2018's protocol) ------------------------------------

def test_images(config):
  """The whole eval split (every class, whatever config.data.classes keeps) as the model reads it:
  images float32 in [0, 1] [N, H, W, C] and labels [N]."""
  source = data.ArraySource(data.open_source(config.data, config.data.eval_split))
  images = data.scale_images({'image': source.arrays['image']})['image'].astype(np.float32)
  return images, np.asarray(source.arrays[config.data.label_key])


def reconstruction_errors(config, state, images, batch: int = 1000) -> np.ndarray:
  """Squared reconstruction error per image [N] of the trained autoencoder in `state`."""
  import jax
  import models
  model = models.build(config.model)
  variables = {'params': state.params, **state.model_state}
  apply = jax.jit(lambda v, x: model.apply(v, x, train=False)['reconstruction'])
  errors = []
  for i in range(0, len(images), batch):
    x = images[i:i + batch]
    errors.append(np.square(np.asarray(apply(variables, x)) - x).reshape(len(x), -1).sum(-1))
  return np.concatenate(errors).astype(np.float64)


def pca_errors(train: np.ndarray, test: np.ndarray, code: int) -> np.ndarray:
  """Squared error per test row [N] of PCA with `code` components fitted on `train` [M, D]."""
  mean = train.mean(0)
  centred = train - mean
  _, vectors = np.linalg.eigh(centred.T @ centred)   # ascending eigenvalues
  basis = vectors[:, ::-1][:, :code]
  z = test - mean
  return np.square(z).sum(-1) - np.square(z @ basis).sum(-1)


def auroc(scores: np.ndarray, positive: np.ndarray) -> float:
  """Area under the ROC curve of `scores` for the `positive` (here: anomalous) examples: the
  probability that a random positive scores above a random negative, ties counted half (the
  Mann-Whitney U statistic over both counts)."""
  from scipy import stats
  ranks = stats.rankdata(scores)
  n_pos = int(positive.sum())
  n_neg = len(scores) - n_pos
  return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def pca_one_class_aurocs(config, code: int) -> list[float]:
  """AUROC of PCA's reconstruction error per normal class of the eval split: PCA fitted on that
  class's train images only, every test image scored, the other classes anomalous."""
  source = data.ArraySource(data.open_source(config.data, config.data.train_split))
  train = data.scale_images({'image': source.arrays['image']})['image']
  train = train.reshape(len(train), -1).astype(np.float64)
  labels = np.asarray(source.arrays[config.data.label_key])
  images, test_labels = test_images(config)
  test = images.reshape(len(images), -1).astype(np.float64)
  return [auroc(pca_errors(train[labels == c], test, code), test_labels != c)
          for c in sorted(set(labels.tolist()))]


def anomaly_grid(images, rows, path, names=()) -> None:
  """A PNG with one row per normal class: its least anomalous test images, then its most
  anomalous ones (rows: [(class, least indices, most indices)])."""
  from train import plots
  plt = plots.plt
  per_side = max(len(r[1]) for r in rows)
  fig, axes = plt.subplots(len(rows), 2 * per_side, figsize=(2 * per_side * 0.8, len(rows) * 0.9),
                           squeeze=False)
  for i, (c, least, most) in enumerate(rows):
    for j, index in enumerate(list(least) + list(most)):
      ax = axes[i, j]
      ax.imshow(images[index].squeeze(-1), cmap='gray', vmin=0, vmax=1)
      ax.set_xticks([])
      ax.set_yticks([])
    axes[i, 0].set_ylabel(names[c] if c < len(names) else str(c), fontsize=7)
  axes[0, 0].set_title('least anomalous', fontsize=7, loc='left')
  axes[0, per_side].set_title('most anomalous', fontsize=7, loc='left')
  plots.save(fig, path)


def anomaly_paper():
  """The paper both one-class claims cite."""
  from experiments.records import Paper
  return Paper('Golan & El-Yaniv', 2018, 'Deep anomaly detection using geometric transformations',
               'https://arxiv.org/abs/1805.10917',
               'Fashion-MNIST one-class table (protocol of Ruff et al. 2018, Deep SVDD, ICML)')


ANOMALY_CODE = 32          # the autoencoder's code size, and PCA's components beside it
SHOWN = 6                  # test images per side in the picture of each class


def one_class_config(arg: str = ''):
  """One-class training of a dense autoencoder on Fashion-MNIST: the train images of one normal
  class (get_config's argument '0'..'9', default 0), evaluated on that class's test images; the
  anomaly measures then score the whole test split. 'tiny' is a 5-step look."""
  from experiments import harness
  from train.config import base_config
  c = base_config()
  c.objective = 'reconstruction'
  c.model.name = 'autoencoder'
  c.model.variant = 'digits'
  c.model.hidden = (512, 128)
  c.model.code = ANOMALY_CODE
  c.data.name = 'fashion_mnist'
  c.data.classes = (0,)
  c.data.batch_size = 128
  c.data.eval_batch_size = 1000
  c.optimizer.name = 'adam'
  c.optimizer.learning_rate = 1e-3
  c.optimizer.schedule = 'cosine'
  c.num_steps = 600              # 13 passes over a class's 6,000 train images
  c.log_every = 100
  c.eval_every = 0
  c.ckpt_every = 300
  if arg in tuple('0123456789'):
    c.data.classes = (int(arg),)
  elif arg == 'tiny':
    c.num_steps = 5
    c.ckpt_every = 0
    c.plots = False
  elif arg == 'full':   # the 784-1000-500-250 encoder of Hinton & Salakhutdinov, 50 passes
    c.model.hidden = (1000, 500, 250)
    c.num_steps = 50 * (6000 // 128)
    c.ckpt_every = 1000
  elif arg:
    raise harness.unknown_argument(arg, '', '0', '...', '9', 'tiny', 'full',
                                   note=' (a digit names the normal class)')
  return c


def one_class_aurocs(get_config, seed: int, workdir, overrides=()) -> dict:
  """The one-class protocol for every class c of the data set: an autoencoder of
  get_config() trained on class c alone, every test image scored by its reconstruction error,
  AUROC of c (normal) against the rest; PCA with the same number of components beside it.
  Writes workdir/anomalies.png (least and most anomalous test images per class). Runs of the
  same config, seed and commit are read back (harness.cached_eval)."""
  from etils import epath
  from experiments import harness
  from train import config as config_lib
  from train import data as data_lib
  workdir = epath.Path(workdir)
  config = get_config()   # with the overrides: the same data and code size as the runs
  config_lib.apply_overrides(config, list(overrides))
  images, labels = test_images(config)
  classes = sorted(set(labels.tolist()))

  def scores(summary, workdir):   # the measure a finished run is cached with
    del workdir
    errors = reconstruction_errors(summary_config, summary['state'], images)
    order = np.argsort(errors, kind='stable')
    return {'auroc': auroc(errors, labels != summary_class),
            'least': order[:SHOWN].tolist(), 'most': order[::-1][:SHOWN].tolist()}

  ae, rows = [], []
  for c in classes:
    summary_config, summary_class = get_config(), c
    with summary_config.unlocked():
      summary_config.data.classes = (c,)
    result = harness.cached_eval(summary_config, seed, workdir / f'class{c}', overrides,
                                 extra=scores)
    ae.append(result['auroc'])
    rows.append((c, result['least'], result['most']))
    print(f'    seed {seed} class {c}: AUROC {result["auroc"]:.4f}', flush=True)
  pca = pca_one_class_aurocs(config, int(config.model.code))
  names = data_lib.label_names(data_lib.open_source(config.data, config.data.eval_split),
                               config.data.label_key)
  workdir.mkdir(parents=True, exist_ok=True)
  anomaly_grid(images, rows, workdir / 'anomalies.png', names)
  return {'labels': [names[c] if c < len(names) else str(c) for c in classes],
          'auroc_ae': ae, 'auroc_pca': pca, 'mean_ae': float(np.mean(ae)),
          'mean_pca': float(np.mean(pca))}
