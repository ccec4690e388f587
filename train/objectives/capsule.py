"""Capsule networks: margin loss on capsule lengths + a small reconstruction loss (or spread loss).

Sabour, Frosst & Hinton 2017, Section 3 (Eq. 4) and 4.1: for every class k,
  L_k = T_k max(0, m+ - |v_k|)^2 + lambda (1 - T_k) max(0, |v_k| - m-)^2,
with m+ = 0.9, m- = 0.1, lambda = 0.5, summed over classes; plus the sum of squared differences
between the input and the decoder's output, scaled by 0.0005 so that it does not dominate. While
training the decoder sees the capsule of the true class; in evaluation that of the predicted class.

objective_args: m_plus, m_minus, down_weight (lambda), recon_weight (0 switches the reconstruction
loss off; the model's `reconstruct` field removes the decoder altogether), shift (random
translations of up to this many pixels with zero padding while training, the paper's MNIST
augmentation), resize and crop (smallNORB: images resized to resize x resize, then a random
crop x crop patch while training and the central one in evaluation), label_key, input_key.

loss='spread' is Hinton, Sabour & Frosst 2018 (matrix capsules with EM routing), Eq. 3: on class
activations a, L = sum_{i != t} max(0, m - (a_t - a_i))^2, with the margin m growing linearly from
0.2 to 0.9 over the first spread_ramp fraction of training (the paper: +0.1 every 5000 steps).

The model returns a dict with 'lengths' (CapsNet) or 'activations' (matrix capsules) as class
scores. Metrics: accuracy, margin_loss (or spread_loss), and recon_mse (mean squared error per
pixel) when there is a decoder.

two_digits=True is Section 6 (MultiMNIST, e.g. nnzoo_multi_digits): every input holds two digits of
different classes, labels `label_key` and `label2_key` (default 'label2'), and each digit alone
on the canvas under `part_keys` (default ('image1', 'image2')). The margin loss has T_k = 1 for
both classes; the decoder reconstructs each digit from its own class capsule (masked by its label,
in training and in evaluation, as the paper does), and the loss adds both digits' squared errors.
`accuracy` is then the both-digits accuracy: the two longest capsules are exactly the two labels;
`digit_accuracy` is the share of the two labels among them.
"""

import jax
import jax.numpy as jnp
import numpy as np

from train.objectives import classification
from train.objectives import multilabel
from train.objectives.arguments import Arg
from train.objectives.loss import LossObjective

# Figure 4 of the paper: each dimension of the winning capsule moved by -0.25 .. 0.25 in 0.05 steps.
PERTURBATIONS = np.linspace(-0.25, 0.25, 11)


def margin_loss(lengths, labels, m_plus=0.9, m_minus=0.1, down_weight=0.5):
  """Eq. 4 summed over classes: [B, J] lengths, [B] integer labels -> [B]. Several objects per
  input (Section 6): `labels` may be [B, J] k-hot targets, T_k = 1 for every class present."""
  if labels.ndim == lengths.ndim:
    t = labels.astype(lengths.dtype)
  else:
    t = jax.nn.one_hot(labels, lengths.shape[-1], dtype=lengths.dtype)
  present = t * jnp.square(jax.nn.relu(m_plus - lengths))
  absent = down_weight * (1.0 - t) * jnp.square(jax.nn.relu(lengths - m_minus))
  return jnp.sum(present + absent, axis=-1)


def resize_and_crop(images, size: int, crop: int, rng=None):
  """Resizes to size x size (bilinear), then crops crop x crop: at random per image when `rng` is
  given, else the central patch."""
  b, _, _, c = images.shape
  if size:
    images = jax.image.resize(images, (b, size, size, c), 'bilinear')
  if not crop:
    return images
  room = images.shape[1] - crop
  if rng is None:
    return images[:, room // 2:room // 2 + crop, room // 2:room // 2 + crop, :]
  offsets = jax.random.randint(rng, (b, 2), 0, room + 1)
  cut = lambda im, o: jax.lax.dynamic_slice(im, (o[0], o[1], 0), (crop, crop, c))  # noqa: E731
  return jax.vmap(cut)(images, offsets)


def spread_loss(activations, labels, margin):
  """Eq. 3 of Hinton et al. 2018: [B, J] activations, [B] labels -> [B]."""
  t = jax.nn.one_hot(labels, activations.shape[-1], dtype=activations.dtype)
  target = jnp.sum(activations * t, -1, keepdims=True)
  return jnp.sum((1.0 - t) * jnp.square(jax.nn.relu(margin - (target - activations))), -1)


def random_shift(images, rng, pixels: int):
  """Each image moved by an independent integer offset in [-pixels, pixels]^2, zeros shifted in."""
  b, h, w, _ = images.shape
  padded = jnp.pad(images, ((0, 0), (pixels, pixels), (pixels, pixels), (0, 0)))
  offsets = jax.random.randint(rng, (b, 2), 0, 2 * pixels + 1)
  crop = lambda im, o: jax.lax.dynamic_slice(im, (o[0], o[1], 0), (h, w, im.shape[-1]))  # noqa: E731
  return jax.vmap(crop)(padded, offsets)


class Capsule(LossObjective):
  ARGS = {
      'label_key': Arg('label', str),
      'm_plus': Arg(0.9, float),
      'm_minus': Arg(0.1, float),
      'down_weight': Arg(0.5, float),
      'recon_weight': Arg(0.0005, float),
      'shift': Arg(0, int),
      'resize': Arg(0, int),
      'crop': Arg(0, int),
      'loss': Arg('margin', str),
      'spread_ramp': Arg(0.5, float),
      'two_digits': Arg(False, bool),
      'label2_key': Arg('label2', str),
      'part_keys': Arg(('image1', 'image2'), tuple),
  }

  def __init__(self, config, model, tx):
    super().__init__(config, model, tx)
    a = config.objective_args
    self.label_key = a.label_key
    self.m_plus, self.m_minus = a.m_plus, a.m_minus
    self.down_weight = a.down_weight
    self.recon_weight = a.recon_weight
    self.shift = int(a.shift)
    self.resize, self.crop = int(a.resize), int(a.crop)
    self.loss = a.loss
    if self.loss not in ('margin', 'spread'):
      raise ValueError(f'objective_args.loss={self.loss!r}: use margin or spread')
    self.spread_ramp = float(a.spread_ramp)
    self._margin = 0.9   # the spread margin; train_step sets its schedule while tracing
    self.two_digits = bool(a.two_digits)
    self.label2_key = a.label2_key
    self.part_keys = tuple(a.part_keys)
    if self.two_digits and (self.loss != 'margin' or self.shift or self.resize or self.crop):
      raise ValueError('objective_args.two_digits needs the margin loss and no shift, resize or '
                       'crop (the data set places the digits; their targets would not move)')

  def train_step(self, state, batch):
    ramp = max(self.spread_ramp * self.config.num_steps, 1.0)
    self._margin = 0.2 + 0.7 * jnp.minimum(state.step / ramp, 1.0)
    try:
      return super().train_step(state, batch)
    finally:
      self._margin = 0.9

  def init_state(self, rng, batch):
    if self.resize or self.crop:   # the model's shapes follow the cropped input, not the stored one
      x = resize_and_crop(batch[self.input_key], self.resize, self.crop)
      batch = {**batch, self.input_key: x}
    return super().init_state(rng, batch)

  def forward(self, variables, batch, train, rngs, mutable):
    """Returns the model's dict plus 'target', the image the reconstruction is compared with."""
    if self.two_digits:
      return self.forward_two_digits(variables, batch, train, rngs, mutable)
    x = batch[self.input_key]
    if self.resize or self.crop:
      crop_rng = jax.random.fold_in(rngs['dropout'], 2) if train else None
      x = resize_and_crop(x, self.resize, self.crop, crop_rng)
    if train and self.shift:
      x = random_shift(x, jax.random.fold_in(rngs['dropout'], 1), self.shift)
    labels = batch[self.label_key] if train else None
    result = self.model.apply(variables, x, train=train, labels=labels, rngs=rngs, mutable=mutable)
    if mutable is not False:
      out, state = result
      return {**out, 'target': x}, state
    return {**result, 'target': x}

  def forward_two_digits(self, variables, batch, train, rngs, mutable):
    """Both digits reconstructed, each from the capsule of its own label: 'reconstruction' and
    'target' are [B, 2, H, W, C]."""
    x = batch[self.input_key]
    result = self.model.apply(variables, x, train=train, labels=batch[self.label_key], rngs=rngs,
                              mutable=mutable)
    out, state = result if mutable is not False else (result, None)
    out = dict(out)
    if 'reconstruction' in out:
      other = self.model.apply(variables, out['capsules'], batch[self.label2_key], x.shape[1:],
                               method='decode')
      out['reconstruction'] = jnp.stack([out['reconstruction'], other], 1)
      out['target'] = jnp.stack([batch[k] for k in self.part_keys], 1)
    return (out, state) if mutable is not False else out

  def class_scores(self, outputs):
    """[B, J] class scores, the longest capsule (or most active one) the predicted class: CapsNet's
    capsule lengths, matrix capsules' activations. What train.explain attributes to the input."""
    return outputs['lengths'] if 'lengths' in outputs else outputs['activations']

  def per_example(self, outputs, batch):
    labels = batch[self.label_key]
    scores = self.class_scores(outputs)
    if self.two_digits:
      both = [labels, batch[self.label2_key]]
      metrics = multilabel.top_k_metrics(scores, both)
      loss = metrics['margin_loss'] = margin_loss(
          scores, multilabel.k_hot(both, scores.shape[-1], scores.dtype), self.m_plus,
          self.m_minus, self.down_weight)
      return self.add_reconstruction(loss, metrics, outputs)
    metrics = {'accuracy': (jnp.argmax(scores, -1) == labels).astype(jnp.float32)}
    if self.loss == 'spread':
      loss = metrics['spread_loss'] = spread_loss(scores, labels, self._margin)
    else:
      loss = metrics['margin_loss'] = margin_loss(scores, labels, self.m_plus, self.m_minus,
                                                  self.down_weight)
    return self.add_reconstruction(loss, metrics, outputs)

  def add_reconstruction(self, loss, metrics, outputs):
    """Adds recon_weight x the sum of squared errors over all reconstructed pixels (both digits'
    in two-digit mode), and the mean per pixel as recon_mse."""
    if 'reconstruction' in outputs:
      err = jnp.square(outputs['reconstruction'] - outputs['target'])
      err = err.reshape(len(loss), -1)
      metrics['recon_mse'] = err.mean(-1)
      loss = loss + self.recon_weight * err.sum(-1)
    return loss, metrics

  def eval_tables(self, outputs, batch):
    if self.two_digits:   # two classes per input: no single predicted class to count
      return {}
    return classification.confusion_table(self.class_scores(outputs), batch[self.label_key],
                                          batch['mask'])

  # -- pictures ----------------------------------------------------------------------------------
  def plot_tables(self, tables, directory, label_names=()):
    return classification.draw_confusion(tables, directory, label_names)

  def plots(self, state, batch, directory):
    from train import plots
    if self.two_digits:
      return self.plots_two_digits(state, batch, directory)
    variables = {'params': state.params, **state.model_state}
    images = batch[self.input_key]
    if self.resize or self.crop:
      images = resize_and_crop(images, self.resize, self.crop)
    out = self.model.apply(variables, images, train=False)
    predicted = jnp.argmax(out['lengths'] if 'lengths' in out else out['activations'], -1)
    paths = [plots.prediction_grid(images, batch[self.label_key], predicted,
                                   directory / 'predictions.png')]
    per_position = getattr(self.model, 'primary_capsules', None) or self.model.conv_caps[-1][0]
    paths.append(coupling_picture(np.asarray(out['coupling']), np.asarray(predicted),
                                  per_position, directory / 'coupling.png'))
    if 'reconstruction' in out:
      paths.append(reconstruction_picture(np.asarray(images), np.asarray(out['reconstruction']),
                                          directory / 'reconstructions.png'))
      n = min(3, len(images))
      caps, winners = out['capsules'][:n], predicted[:n]
      dims = caps.shape[-1]
      # [n, dims, steps, J, D]: the winning capsule with one dimension moved, all others zero.
      moved = jnp.broadcast_to(caps[:, None, None], (n, dims, len(PERTURBATIONS)) + caps.shape[1:])
      delta = jnp.einsum('de,s->dse', jnp.eye(dims), jnp.asarray(PERTURBATIONS, caps.dtype))
      sel = jax.nn.one_hot(winners, caps.shape[1], dtype=caps.dtype)[:, None, None, :, None]
      moved = moved + sel * delta[None, :, :, None, :]
      chosen = jnp.broadcast_to(winners[:, None, None], moved.shape[:3]).reshape(-1)
      recon = self.model.apply(variables, moved.reshape((-1,) + caps.shape[1:]), chosen,
                               images.shape[1:], method='decode')
      paths.append(perturbation_picture(
          np.asarray(recon).reshape(moved.shape[:3] + images.shape[1:]), np.asarray(winners),
          directory / 'capsule_dimensions.png'))
    return paths

  def plots_two_digits(self, state, batch, directory):
    """Section 6 / Figure 5: the two longest capsules, each decoded alone, in red and green."""
    variables = {'params': state.params, **state.model_state}
    images = batch[self.input_key]
    out = self.model.apply(variables, images, train=False)
    _, top = jax.lax.top_k(out['lengths'] if 'lengths' in out else out['activations'], 2)
    top = np.asarray(top)
    per_position = getattr(self.model, 'primary_capsules', None) or self.model.conv_caps[-1][0]
    paths = [coupling_picture(np.asarray(out['coupling']), top[:, 0], per_position,
                              directory / 'coupling.png')]
    if 'reconstruction' in out:
      recons = [np.asarray(self.model.apply(variables, out['capsules'], top[:, k],
                                            images.shape[1:], method='decode')) for k in range(2)]
      labels = np.stack([np.asarray(batch[self.label_key]), np.asarray(batch[self.label2_key])], -1)
      paths.append(two_digit_picture(np.asarray(images), recons[0], recons[1], labels, top,
                                     directory / 'two_digits.png'))
    return paths


def two_digit_picture(images, first, second, labels, predicted, path, n: int = 12):
  """Overlaid inputs (top row) and, below, the two most active capsules' reconstructions, the
  longest in red and the second in green (yellow where both draw). Titles: labels L and the two
  predicted classes P, red when the predicted pair is wrong."""
  import matplotlib.pyplot as plt
  from train import plots
  n = min(n, len(images))
  fig, axes = plt.subplots(2, n, figsize=(n * 0.9, 2.3), squeeze=False)
  for i in range(n):
    h, w = images.shape[1:3]
    colour = np.zeros((h, w, 3), np.float32)
    colour[..., 0] = first[i].reshape(h, w)
    colour[..., 1] = second[i].reshape(h, w)
    axes[0, i].imshow(images[i].reshape(h, w), cmap='gray', vmin=0, vmax=1)
    axes[1, i].imshow(np.clip(colour, 0, 1))
    right = sorted(labels[i].tolist()) == sorted(predicted[i].tolist())
    axes[0, i].set_title(f'L {labels[i][0]},{labels[i][1]}\nP {predicted[i][0]},{predicted[i][1]}',
                         fontsize=7, color='black' if right else 'red')
    for ax in axes[:, i]:
      ax.set_xticks([])
      ax.set_yticks([])
  axes[0, 0].set_ylabel('input', fontsize=7)
  axes[1, 0].set_ylabel('recon.', fontsize=7)
  fig.suptitle('two most active capsules decoded one at a time: 1st red, 2nd green '
               '(Sabour et al. Fig. 5)', fontsize=8)
  return plots.save(fig, path)


def reconstruction_picture(images, recons, path, n: int = 16):
  """Inputs (top row) and their reconstructions (bottom row)."""
  import matplotlib.pyplot as plt
  from train import plots
  n = min(n, len(images))
  fig, ax = plt.subplots(figsize=(n * 0.6, 1.6))
  ax.imshow(mosaic(np.stack([images[:n], recons[:n]])), cmap='gray', vmin=0, vmax=1)
  ax.set_yticks([images.shape[1] / 2, images.shape[1] * 1.5 + 1], ['input', 'recon.'], fontsize=8)
  ax.set_xticks([])
  ax.set_title('reconstructions from the predicted class capsule', fontsize=9)
  return plots.save(fig, path)


def mosaic(tiles, gap: int = 1):
  """tiles [rows, cols, H, W(, 1)] -> one [rows*(H+gap), cols*(W+gap)] image (one imshow is
  fast)."""
  tiles = np.asarray(tiles)
  rows, cols, h, w = tiles.shape[:4]
  out = np.full((rows * (h + gap), cols * (w + gap)), 0.5, np.float32)   # grey between tiles
  for r in range(rows):
    for c in range(cols):
      out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = \
          tiles[r, c].reshape(h, w)
  return out


def perturbation_picture(recons, winners, path):
  """recons [n, dims, steps, H, W, C]: one panel per example, a row per capsule dimension."""
  import matplotlib.pyplot as plt
  from train import plots
  n, dims, steps = recons.shape[:3]
  fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 4.4), squeeze=False)
  for e in range(n):
    ax = axes[0, e]
    ax.imshow(mosaic(recons[e]), cmap='gray', vmin=0, vmax=1)
    h = recons.shape[3] + 1
    ax.set_yticks(np.arange(dims) * h + h / 2 - 0.5, [str(d) for d in range(dims)], fontsize=6)
    ax.set_xticks([])
    ax.set_title(f'class {winners[e]}', fontsize=8)
  axes[0, 0].set_ylabel('capsule dimension', fontsize=8)
  fig.suptitle(f'winning capsule, one dimension moved by {PERTURBATIONS[0]:+.2f} .. '
               f'{PERTURBATIONS[-1]:+.2f} in steps of 0.05 (Sabour et al. Fig. 4)', fontsize=8)
  return plots.save(fig, path)


def coupling_picture(coupling, predicted, per_position, path, n: int = 6):
  """Left: mean coupling of all child capsules to each class, per example. Right: where (on the
  child capsules' grid, `per_position` capsules per position) the coupling to the predicted class
  is strongest."""
  import matplotlib.pyplot as plt
  from train import plots
  n = min(n, len(coupling))
  children = coupling.shape[1]
  side = int(round(np.sqrt(children // per_position)))
  fig, axes = plt.subplots(1, n + 1, figsize=(2.6 + 1.4 * n, 2.4), squeeze=False,
                           gridspec_kw={'width_ratios': [2.2] + [1] * n})
  mean = coupling[:n].mean(1)
  im = axes[0, 0].imshow(mean, cmap='viridis', aspect='auto')
  axes[0, 0].set_xlabel('class capsule', fontsize=8)
  axes[0, 0].set_ylabel('example', fontsize=8)
  axes[0, 0].set_title('mean coupling', fontsize=8)
  fig.colorbar(im, ax=axes[0, 0], fraction=0.05)
  for k in range(n):
    grid = coupling[k, :, predicted[k]].reshape(side, side, -1).mean(-1)
    axes[0, k + 1].imshow(grid, cmap='viridis')
    axes[0, k + 1].set_title(f'ex. {k} -> {predicted[k]}', fontsize=7)
    axes[0, k + 1].axis('off')
  return plots.save(fig, path)
