"""The capsule objective's pictures: predictions, coupling coefficients, reconstructions, what
each capsule dimension encodes (Sabour et al. Figure 4) and, for two digits, each one decoded from
its own capsule (Figure 5)."""

import jax
import jax.numpy as jnp
import numpy as np

# Figure 4 of the paper: each dimension of the winning capsule moved by -0.25 .. 0.25 in 0.05 steps.
PERTURBATIONS = np.linspace(-0.25, 0.25, 11)


def draw(objective, state, batch, directory):
  """The pictures of a Capsule objective's state on one eval batch; returns their paths."""
  from train import plots
  from train.objectives.capsule import resize_and_crop
  if objective.two_digits:
    return draw_two_digits(objective, state, batch, directory)
  variables = {'params': state.params, **state.model_state}
  images = batch[objective.input_key]
  if objective.resize or objective.crop:
    images = resize_and_crop(images, objective.resize, objective.crop)
  out = objective.model.apply(variables, images, train=False)
  predicted = jnp.argmax(out['lengths'] if 'lengths' in out else out['activations'], -1)
  paths = [plots.prediction_grid(images, batch[objective.label_key], predicted,
                                 directory / 'predictions.png')]
  per_position = _per_position(objective.model)
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
    recon = objective.model.apply(variables, moved.reshape((-1,) + caps.shape[1:]), chosen,
                                  images.shape[1:], method='decode')
    paths.append(perturbation_picture(
        np.asarray(recon).reshape(moved.shape[:3] + images.shape[1:]), np.asarray(winners),
        directory / 'capsule_dimensions.png'))
  return paths


def draw_two_digits(objective, state, batch, directory):
  """Section 6 / Figure 5: the two longest capsules, each decoded alone, in red and green."""
  variables = {'params': state.params, **state.model_state}
  images = batch[objective.input_key]
  out = objective.model.apply(variables, images, train=False)
  _, top = jax.lax.top_k(out['lengths'] if 'lengths' in out else out['activations'], 2)
  top = np.asarray(top)
  per_position = _per_position(objective.model)
  paths = [coupling_picture(np.asarray(out['coupling']), top[:, 0], per_position,
                            directory / 'coupling.png')]
  if 'reconstruction' in out:
    recons = [np.asarray(objective.model.apply(variables, out['capsules'], top[:, k],
                                               images.shape[1:], method='decode'))
              for k in range(2)]
    labels = np.stack([np.asarray(batch[objective.label_key]),
                       np.asarray(batch[objective.label2_key])], -1)
    paths.append(two_digit_picture(np.asarray(images), recons[0], recons[1], labels, top,
                                   directory / 'two_digits.png'))
  return paths


def _per_position(model) -> int:
  """Child capsules per grid position: CapsNet's primary capsules, or the last convolutional
  capsule layer's of matrix capsules."""
  return getattr(model, 'primary_capsules', None) or model.conv_caps[-1][0]


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
