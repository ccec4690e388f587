"""What the Mackey-Glass claims (mackey_glass_6.py, mackey_glass_85.py) measure."""

import math

from experiments import harness


def ndei(config, name, seed, workdir, overrides) -> float:
  """NDEI = RMSE / standard deviation of the target, on the test points (the `nmse_<name>` eval
  metric of the run)."""
  summary = harness.seeded_run(config, seed, workdir, overrides)
  return math.sqrt(summary['eval'][f'nmse_{name}'])
