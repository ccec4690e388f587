"""Experiment records: what paper a config reproduces, the paper's number, and a claim we can check.

A config file `experiments/<study>/<name>.py` has, beside `get_config(arg)`, a `get_record()`
returning a `Record`. `python -m experiments.reproduce <config>` runs the record's CPU-scale
`Claim` on offline data (over several seeds when it is statistical) and compares the mean with the
threshold; `--full` runs the full-scale config for the hardware the paper used.

A claim measures one number per seed. By default that is an eval metric of a training run of
`get_config(claim.config_arg)` with `config.seed = seed`; a claim that compares (an autoencoder
against PCA, routing 3 against routing 1) gives its own `measure(seed, workdir) -> float`.
"""

import dataclasses
import math
import statistics
from typing import Callable, Optional, Sequence


@dataclasses.dataclass(frozen=True)
class Paper:
  authors: str
  year: int
  title: str
  url: str
  where: str                      # 'Table 1', 'Figure 4', 'Section 5.2'


@dataclasses.dataclass(frozen=True)
class Claim:
  statement: str                  # what part of the paper this checks, in one sentence
  setting: str                    # our setting: data, model size, steps, hardware class
  metric: str                     # name of the measured number, e.g. 'test accuracy'
  threshold: float
  direction: str = '>='           # the mean over seeds must be `direction` threshold
  seeds: Sequence[int] = (0,)
  config_arg: str = ''            # get_config(config_arg) is trained by the default measure
  eval_key: str = 'accuracy'      # which eval metric of the run's summary is the number
  # (seed, workdir, overrides) -> float, or (float, dict of details stored per seed in the
  # recorded JSON); replaces the default
  measure: Optional[Callable] = None
  minutes: float = 1.0            # CPU wall time of all seeds on 2 cores; > 15 is marked slow

  def passes(self, value: float) -> bool:
    if not math.isfinite(value):
      return False
    return value >= self.threshold if self.direction == '>=' else value <= self.threshold


@dataclasses.dataclass(frozen=True)
class Record:
  paper: Paper
  metric: str                     # the paper's metric, e.g. 'MNIST test error (%)'
  paper_value: str                # as the paper gives it, with ± where it gives one
  paper_setting: str              # data set, model, schedule of the paper's number
  full_hardware: str              # what the full-scale config is meant for
  full_time: str                  # its expected wall time there
  claim: Claim
  full_config_arg: str = 'full'   # get_config(full_config_arg) is the full-scale run
  notes: str = ''
  # The paper's number in the claim's own metric, where there is one to compare with directly (a
  # benchmark row's test accuracy): the results tables then show ours minus it.
  paper_number: Optional[float] = None


def margin(mean: float, std: float, threshold: float, direction: str) -> float:
  """How many standard deviations (over seeds) the mean clears its threshold by: (mean -
  threshold) / std for '>=', (threshold - mean) / std for '<='; negative when it fails. A claim
  that CI runs needs >= 2 on the host that records it (seed-to-seed spread, float rounding and
  the host's kernels move single runs). inf when every seed gave the same value."""
  gap = mean - threshold if direction == '>=' else threshold - mean
  if std > 0:
    return gap / std
  return math.inf if gap >= 0 else -math.inf


def mean_std(values: Sequence[float]) -> tuple[float, float]:
  if len(values) == 1:
    return float(values[0]), 0.0
  return statistics.fmean(values), statistics.stdev(values)
