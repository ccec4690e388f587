"""Where a recorded number came from: a clean tree at the commit it names (train/origin.py says
which commit, machine and time), and finished runs read back instead of trained again."""

import json
import os
import subprocess

from etils import epath

from train import origin
from train.origin import changed_files, commit, hardware, now, stamp  # noqa: F401 - re-exported


def require_clean():
  """For `--record`: a recorded number comes from a clean tree at the commit it names, so a
  changed or untracked code file, or a commit named by hand, stops the run before it starts."""
  from train.errors import UserError
  if os.environ.get('NNZOO_COMMIT'):
    raise UserError(f'--record names the commit it finds itself; NNZOO_COMMIT is set (to '
                    f'{os.environ["NNZOO_COMMIT"]!r}): unset it and record from the checkout')
  try:
    changed = changed_files()
  except (OSError, subprocess.CalledProcessError):
    raise UserError('--record needs a git checkout (the commit is part of the record); '
                    f'{origin.ROOT} is not one') from None
  if changed:
    raise UserError(f'--record needs a clean tree; commit or stash the changed files: '
                    f'{", ".join(changed)}')


def reusable_commit() -> str | None:
  """The commit a finished run must have been trained at to be read back instead of trained:
  this one, when it names the code (clean); None (train everything) when it does not."""
  here = commit()
  return None if here == 'unknown' or here.endswith('+dirty') else here


RUN_COMMIT = 'commit.txt'   # beside a finished run's summary.json: the commit that trained it


def train_or_reuse(config, workdir) -> dict:
  """The eval summary of `config` trained in `workdir`, or of the finished run there when this
  clean commit trained it (loop.finished_run checks the config): a study run again, or resumed
  after a kill, skips what it has, and one run at a later commit trains again instead of
  reporting older code's numbers (a run this process trained is read back whatever the commit).
  A run this clean commit started and a kill cut short goes on from its last checkpoint; one
  that older code started is trained again from step 0. A stop signal (SIGTERM, Ctrl-C) ends
  the study with one line once the run's checkpoint is written. Reuse is counted by
  train.tally."""
  from train import loop
  from train import tally
  here, mark = reusable_commit(), epath.Path(workdir) / RUN_COMMIT
  started_here = here is not None and mark.exists() and mark.read_text().strip() == here
  if tally.made_here(workdir) or started_here:
    done = loop.finished_run(config, workdir)
    if done is not None:
      tally.reused(workdir, here)
      return done
  trained_at = commit()   # the code that runs is the code at the start
  saved = epath.Path(workdir) / 'config.json'
  resume = started_here and saved.exists() and not loop.changed_keys(
      json.loads(saved.read_text()), config)
  epath.Path(workdir).mkdir(parents=True, exist_ok=True)
  mark.write_text(trained_at + '\n')   # before the first step: a kill at any moment resumes
  summary = loop.train_and_evaluate(config, workdir, overwrite=not resume, progress=False)
  if summary.get('preempted'):
    raise SystemExit(f'nnzoo: stopped at step {summary["step"]}/{summary["num_steps"]} of '
                     f'{workdir} (checkpoint written); the same command goes on from there')
  return summary
