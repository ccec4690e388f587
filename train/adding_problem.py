"""The adding problem's sequences (Hochreiter & Schmidhuber 1997, Experiment 4), generated with
numpy alone: the TFDS builder (train/datasets/adding.py) stores them, and the LSTM benchmark
(train.bench, also on accelerator images without TFDS) draws its batches from them."""

import numpy as np


def generate(length: int, num: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
  """(inputs [num, T, 2] float32, target [num] float32) from one seeded generator."""
  rng = np.random.default_rng(seed)
  values = rng.uniform(0.0, 1.0, size=(num, length)).astype(np.float32)
  half = length // 2
  first = rng.integers(0, half, size=num)
  second = rng.integers(half, length, size=num)
  markers = np.zeros((num, length), np.float32)
  rows = np.arange(num)
  markers[rows, first] = 1.0
  markers[rows, second] = 1.0
  target = values[rows, first] + values[rows, second]
  return np.stack([values, markers], -1), target.astype(np.float32)
