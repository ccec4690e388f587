"""How many runs this process trained, and how many finished runs it read back instead.

A recorded number must say whether it came from runs made for it: `python -m
experiments.reproduce` resets the tally, runs the claim, and writes the counts into its JSON.
`loop.train_and_evaluate` reports every run it finishes; the caches that hand back a finished run
instead of training it (`loop.finished_run` through `experiments.provenance.finished_run`,
`capsnet_digits.train_eval`) report what they read and the commit that trained it. A run trained
in this process and read back later (a pre-trained network shared by several transfers) is
counted once, as trained.
"""

import os

_trained_s: list[float] = []      # seconds of each run trained since the last reset
_reused: list[str] = []           # the commit that trained each run read back
_here: set[str] = set()           # where the runs trained since the last reset lie


def _key(path) -> str:
  return os.path.abspath(os.fspath(path))


def reset():
  _trained_s.clear()
  _reused.clear()
  _here.clear()


def trained(workdir, seconds: float, runs: int = 1):
  """A run was trained in `workdir`, taking `seconds` (compile and evals included); `runs` > 1: a
  run of that many members (config.vmap), each counted as a run, sharing the seconds."""
  _trained_s.extend([float(seconds) / runs] * runs)
  _here.add(_key(workdir))


def also_at(path):
  """A copy of a run trained here lies at `path` too (a cache): reading it back is no reuse."""
  _here.add(_key(path))


def made_here(where) -> bool:
  """Whether the run at `where` was trained (or copied there) since the last reset."""
  return _key(where) in _here


def reused(where, commit: str):
  """A finished run at `where`, trained at `commit`, was read back instead of trained."""
  if _key(where) not in _here:
    _reused.append(commit)


def counts() -> dict:
  """The fields a recorded result carries: runs trained and reused since the last reset, the
  commits of the reused ones, and the seconds spent training."""
  return {'runs_trained': len(_trained_s), 'runs_reused': len(_reused),
          'reused_commits': sorted(set(_reused)), 'train_s': round(sum(_trained_s), 1)}
