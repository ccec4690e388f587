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

The losses are in capsule_losses.py, the two-digit mode in capsule_two_digits.py, the pictures in
capsule_pictures.py.
"""

import jax
import jax.numpy as jnp

from train.objectives import capsule_two_digits
from train.objectives import classification
from train.objectives.arguments import Arg
from train.objectives.capsule_losses import margin_loss, spread_loss, spread_margin
from train.objectives.loss import LossObjective


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
    self.two_digits = bool(a.two_digits)
    self.label2_key = a.label2_key
    self.part_keys = tuple(a.part_keys)
    if self.two_digits and (self.loss != 'margin' or self.shift or self.resize or self.crop):
      raise ValueError('objective_args.two_digits needs the margin loss and no shift, resize or '
                       'crop (the data set places the digits; their targets would not move)')

  def init_state(self, rng, batch):
    if self.resize or self.crop:   # the model's shapes follow the cropped input, not the stored one
      x = resize_and_crop(batch[self.input_key], self.resize, self.crop)
      batch = {**batch, self.input_key: x}
    return super().init_state(rng, batch)

  def forward(self, variables, batch, train, rngs, mutable):
    """Returns the model's dict plus 'target', the image the reconstruction is compared with."""
    if self.two_digits:
      return capsule_two_digits.forward(self, variables, batch, train, rngs, mutable)
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

  def class_scores(self, outputs):
    """[B, J] class scores, the longest capsule (or most active one) the predicted class: CapsNet's
    capsule lengths, matrix capsules' activations. What train.explain attributes to the input."""
    return outputs['lengths'] if 'lengths' in outputs else outputs['activations']

  def per_example(self, outputs, batch, step=None):
    """Loss and metrics per example; `step` (traced, while training) sets the spread margin."""
    if self.two_digits:
      return capsule_two_digits.per_example(self, outputs, batch)
    labels = batch[self.label_key]
    scores = self.class_scores(outputs)
    metrics = {'accuracy': (jnp.argmax(scores, -1) == labels).astype(jnp.float32)}
    if self.loss == 'spread':
      margin = spread_margin(step, self.spread_ramp, self.config.num_steps)
      loss = metrics['spread_loss'] = spread_loss(scores, labels, margin)
    else:
      loss = metrics['margin_loss'] = margin_loss(scores, labels, self.m_plus, self.m_minus,
                                                  self.down_weight)
    return self.add_reconstruction(loss, metrics, outputs)

  def train_losses(self, outputs, batch, step):
    return self.per_example(outputs, batch, step)

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

  # -- pictures (train/objectives/capsule_pictures.py) ---------------------------------------------
  def plot_tables(self, tables, directory, label_names=()):
    return classification.draw_confusion(tables, directory, label_names)
  def plots(self, state, batch, directory):
    from train.objectives import capsule_pictures
    return capsule_pictures.draw(self, state, batch, directory)
