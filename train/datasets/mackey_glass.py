"""The Mackey-Glass chaotic time series (tau = 17), as a regression data set of delay vectors.

dx/dt = 0.2 x(t - tau) / (1 + x(t - tau)^10) - 0.1 x(t), tau = 17, x(0) = 1.2, x(t < 0) = 0,
integrated with fourth-order Runge-Kutta at step 0.1 (the delayed value at half steps is the mean of
its neighbours) and sampled at integer t, as in Jang 1993 (ANFIS) and Moody & Darken 1989.

Each example at time t: `inputs` = [x(t - 18), x(t - 12), x(t - 6), x(t)], `targets` =
[x(t + 6), x(t + 85)], `t`. Splits (consecutive in time, the standard protocol): `train` t = 118 ..
118 + NUM_TRAIN - 1, `test` the NUM_TEST points after it; the first 118 time units (transient)
are never used. Jang's benchmark is the first 500 train points and the 500 after them.
"""

import numpy as np
import tensorflow_datasets as tfds

TAU = 17
START = 118
NUM_TRAIN = 2000
NUM_TEST = 500
HORIZONS = (6, 85)
LAGS = (18, 12, 6, 0)


def series(length: int, tau: float = TAU, dt: float = 0.1, x0: float = 1.2) -> np.ndarray:
  """x(0), x(1), ..., x(length - 1) of the Mackey-Glass equation."""
  sub = int(round(1 / dt))
  lag = int(round(tau / dt))
  n = length * sub
  x = np.zeros(n + 1)
  x[0] = x0

  def f(xt, xd):
    return 0.2 * xd / (1 + xd ** 10) - 0.1 * xt

  def delayed(i):  # x(i dt - tau), 0 before the start
    return x[i - lag] if i - lag >= 0 else 0.0

  for i in range(n):
    xd0, xd1 = delayed(i), delayed(i + 1)
    xdh = 0.5 * (xd0 + xd1)
    k1 = f(x[i], xd0)
    k2 = f(x[i] + 0.5 * dt * k1, xdh)
    k3 = f(x[i] + 0.5 * dt * k2, xdh)
    k4 = f(x[i] + dt * k3, xd1)
    x[i + 1] = x[i] + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
  return x[::sub][:length]


def examples(times, x) -> dict:
  times = np.asarray(times)
  return {'inputs': np.stack([x[times - lag] for lag in LAGS], 1).astype(np.float32),
          'targets': np.stack([x[times + h] for h in HORIZONS], 1).astype(np.float32),
          't': times.astype(np.int32)}


def split_times() -> dict[str, np.ndarray]:
  train = np.arange(START, START + NUM_TRAIN)
  return {'train': train, 'test': np.arange(train[-1] + 1, train[-1] + 1 + NUM_TEST)}


class MackeyGlass(tfds.core.GeneratorBasedBuilder):
  """Mackey-Glass delay vectors and the values 6 and 85 steps ahead, as a TFDS data set."""

  name = 'nnzoo_mackey_glass'
  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': f'tau 17, RK4 dt 0.1; {NUM_TRAIN} train / {NUM_TEST} test from t=118.'}

  def _info(self):
    return tfds.core.DatasetInfo(
        builder=self,
        description=__doc__,
        features=tfds.features.FeaturesDict({
            'inputs': tfds.features.Tensor(shape=(len(LAGS),), dtype=np.float32),
            'targets': tfds.features.Tensor(shape=(len(HORIZONS),), dtype=np.float32),
            't': tfds.features.Tensor(shape=(), dtype=np.int32),
        }),
        supervised_keys=('inputs', 'targets'),
        homepage='https://doi.org/10.1126/science.267326',
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # generated, nothing to download
    times = split_times()
    x = series(int(times['test'][-1]) + max(HORIZONS) + 1)
    return {split: self._generate_examples(examples(t, x)) for split, t in times.items()}

  def _generate_examples(self, arrays):
    for i in range(len(arrays['t'])):
      yield i, {k: v[i] for k, v in arrays.items()}
