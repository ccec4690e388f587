"""Time to accuracy: `python -m train.bench --time-to 0.91 --config FILE [--max-epochs 8]`.

Trains the config as a user would (`python -m train` in a fresh process), evaluating on the eval
split after every epoch, and reports the wall time from the moment that process was started until
the first epoch whose evaluation reaches the target: imports, start-up, compile, steps and the
evaluations before it all count, as they do for the PyTorch reference
(../shared/torch-reference/fashion_torch.py counts from its first line). The data set is built
(or found) before the clock starts, as the reference reads files that already exist.

Once the target is reached the run is stopped (SIGTERM: the engine's preemption path saves and
writes its summary), so a fast run costs no more epochs than it needs. The time is split into
start-up (process start to the first step, data set-up included, compile excluded), compile,
steps, evaluations (eval_s of each eval row) and the rest (plots, checkpoints, logging).

With `--reference CMD` each seed runs ours and then CMD (given `--seed S` unless it names a seed),
so both see the same machine state; the line holds the median over `--seeds` of each.
"""

import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from train.errors import UserError


def steps_per_epoch(config) -> int:
  """Optimizer steps of one pass over the train split at the config's batch size (data built
  here if it was not yet, so that the timed run finds it)."""
  from train import data
  return max(1, data.make_pipeline(config).num_train // config.data.batch_size)


def run_once(config_path: str, target: float, seed: int, max_epochs: int | None,
             overrides=(), metric: str = 'accuracy', poll_s: float = 0.2) -> dict:
  """One seeded run of `python -m train`, timed from its start to the first eval >= target."""
  from train import config as config_lib
  config = config_lib.load(config_path)
  config_lib.apply_overrides(config, list(overrides))
  epoch = steps_per_epoch(config)
  num_steps = max_epochs * epoch if max_epochs else config.num_steps
  workdir = tempfile.mkdtemp(prefix='nnzoo_time_to_')
  cmd = [sys.executable, '-m', 'train', '--config', config_path, '--workdir', workdir,
         *overrides, f'--config.seed={seed}', f'--config.num_steps={num_steps}',
         f'--config.eval_every={epoch}', f'--config.log_every={epoch}']   # a train row per eval
  metrics = os.path.join(workdir, 'metrics.jsonl')
  reached, evals, rows = None, [], []
  try:
    started_wall, started = time.time(), time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while True:
      finished = proc.poll() is not None
      rows = _read(metrics)
      evals = [r for r in rows if r['split'] == 'eval']
      hit = [r for r in evals if r.get(metric, -1) >= target]
      if hit:
        reached = hit[0]
        break
      if finished:
        break
      time.sleep(poll_s)
    if proc.poll() is None:
      proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=600)
    if reached is None and proc.returncode != 0:
      raise UserError(f'the timed run failed (exit {proc.returncode}): '
                      f'{err.strip().splitlines()[-1] if err.strip() else shlex.join(cmd)}')
    summary = _summary(workdir)
  finally:
    shutil.rmtree(workdir, ignore_errors=True)
  elapsed = None if reached is None else reached['time'] - started_wall
  out = {'seed': seed, 'target': target, 'metric': metric,
         'time_to_target_s': None if elapsed is None else round(elapsed, 2),
         'epochs': None if reached is None else reached['step'] // epoch,
         'accuracy_per_epoch': [r.get(metric) for r in evals],
         'steps_per_epoch': epoch, 'max_epochs': num_steps // epoch,
         'process_s': round(time.perf_counter() - started, 2)}
  if reached is not None:
    out['breakdown_s'] = _breakdown(rows, reached, started_wall, summary)
  return out


def _read(path: str) -> list[dict]:
  try:
    with open(path) as f:
      lines = f.read().splitlines()
  except FileNotFoundError:
    return []
  rows = []
  for line in lines:
    try:
      rows.append(json.loads(line))
    except json.JSONDecodeError:   # a line being written
      break
  return rows


def _summary(workdir: str) -> dict:
  try:
    with open(os.path.join(workdir, 'summary.json')) as f:
      return json.load(f)
  except (FileNotFoundError, json.JSONDecodeError):
    return {}


def _breakdown(rows, reached, started_wall, summary) -> dict:
  """Where the time to the target went, from the run's own metrics rows (train rows: steps and
  steps/s since the previous row, eval and checkpoint time excluded; eval rows: eval_s)."""
  upto = [r for r in rows if r['step'] <= reached['step'] and r['time'] <= reached['time']]
  train = [r for r in upto if r['split'] == 'train']
  steps_s, last = 0.0, 0
  for r in train:
    steps_s += (r['step'] - last) / r['steps_per_s']
    last = r['step']
  evals_s = sum(r.get('eval_s', 0.0) for r in upto if r['split'] == 'eval')
  compile_s = summary.get('compile_s', 0.0)
  first = train[0] if train else reached
  first_step_s = first['time'] - started_wall - (first['step'] / first['steps_per_s']
                                                 if train else 0.0)
  total = reached['time'] - started_wall
  startup_s = max(first_step_s - compile_s, 0.0)
  return {'startup_and_data': round(startup_s, 2), 'compile': round(compile_s, 2),
          'steps': round(steps_s, 2), 'evals': round(evals_s, 2),
          'other': round(total - startup_s - compile_s - steps_s - evals_s, 2)}


def reference_once(command: str, seed: int) -> dict:
  """The reference command's final JSON line (with `time_to_target_s`)."""
  cmd = shlex.split(command)
  if '--seed' not in cmd:
    cmd += ['--seed', str(seed)]
  r = subprocess.run(cmd, capture_output=True, text=True)
  if r.returncode != 0:
    raise UserError(f'--reference {command!r} failed (exit {r.returncode}): '
                    f'{(r.stderr.strip().splitlines() or [""])[-1]}')
  lines = [json.loads(l) for l in r.stdout.splitlines() if l.startswith('{')]
  final = [l for l in lines if 'time_to_target_s' in l]
  if not final:
    raise UserError(f'--reference {command!r} printed no JSON line with time_to_target_s')
  return {**final[-1], 'seed': seed,
          'accuracy_per_epoch': [l['test_accuracy'] for l in lines if 'test_accuracy' in l]}


def _median(values):
  """Median time to target; a run that never reached it counts as infinitely slow."""
  xs = [float('inf') if v is None else v for v in values]
  m = statistics.median(xs)
  return None if m == float('inf') else round(m, 2)


def time_to(config_path: str, target: float, seeds, max_epochs: int | None = None,
            overrides=(), reference: str | None = None) -> dict:
  if not 0 < target <= 1:
    raise UserError(f'--time-to {target}: the target accuracy must be in (0, 1]')
  ours, theirs = [], []
  for seed in seeds:
    ours.append(run_once(config_path, target, seed, max_epochs, overrides))
    print(json.dumps({'ours': ours[-1]}), file=sys.stderr, flush=True)
    if reference:
      theirs.append(reference_once(reference, seed))
      print(json.dumps({'reference': theirs[-1]}), file=sys.stderr, flush=True)
  first = ours[0]
  result = {'config': config_path, 'overrides': list(overrides), 'target': target,
            'seeds': list(seeds), 'time_to_target_s': _median(r['time_to_target_s'] for r in ours),
            'epochs': first['epochs'], 'accuracy_per_epoch': first['accuracy_per_epoch'],
            'runs': ours}
  if reference:
    ref = _median(r['time_to_target_s'] for r in theirs)
    result['reference'] = {'command': reference, 'time_to_target_s': ref, 'runs': theirs}
    mine = result['time_to_target_s']
    result['ratio_vs_reference'] = (round(mine / ref, 3) if mine is not None and ref else None)
  return result
