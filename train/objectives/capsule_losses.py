"""The capsule objective's losses: Sabour et al. 2017's margin loss and Hinton et al. 2018's
spread loss with its growing margin."""

import jax
import jax.numpy as jnp


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


def spread_loss(activations, labels, margin):
  """Eq. 3 of Hinton et al. 2018: [B, J] activations, [B] labels -> [B]."""
  t = jax.nn.one_hot(labels, activations.shape[-1], dtype=activations.dtype)
  target = jnp.sum(activations * t, -1, keepdims=True)
  return jnp.sum((1.0 - t) * jnp.square(jax.nn.relu(margin - (target - activations))), -1)


def spread_margin(step, ramp_fraction: float, num_steps: int):
  """The spread loss's margin at `step`: 0.2 growing linearly to 0.9 over the first ramp_fraction
  of training (the paper: +0.1 every 5000 steps); 0.9 in evaluation (`step` None)."""
  if step is None:
    return 0.9
  ramp = max(ramp_fraction * num_steps, 1.0)
  return 0.2 + 0.7 * jnp.minimum(step / ramp, 1.0)
