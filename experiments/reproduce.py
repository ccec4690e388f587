"""python -m experiments.reproduce experiments/<study>/<name>.py [--seeds 0,1,2] [--members]
    [--full] [--record]

Runs the record's CPU-scale claim, prints paper setting / paper value / our setting / our value
(mean ± std over seeds) / threshold / PASS or FAIL, writes the table as JSON into the workdir, and
exits 1 if the claim fails. `--record` also stores the JSON under experiments/<study>/results/,
from where `python -m experiments.report` builds the README tables; it refuses (exit 2, before
training) a tree with changed files or untracked code under models/, train/ or experiments/, and
NNZOO_COMMIT set by hand. The JSON counts the runs trained for it and those read back from a cache
(only ones trained at this same commit are), with `train_s`, the time spent training, beside
`wall_s`.

With --members, seeds that share a config (a claim whose number is the plain eval metric of a
standard run) train together, as the members of one run (config.vmap.seeds, train/members.py: one
compiled step for all of them, each as its own run would train to float rounding) in
WORKDIR/seeds; otherwise, and for other claims, one run each in WORKDIR/seed<N>. Not the default:
on a 2-core CPU a vmapped step of the small recurrent nets costs more than the separate steps
(README, "Many seeds in one step"), and a chaotic run's rounding grows into another value.
"""

import argparse
import dataclasses
import json
import logging
import math
import os
import shlex
import sys
import time

from etils import epath

from experiments import harness
from experiments import provenance
from experiments import records
from train import cli
from train import config as config_lib
from train import tally
from train.errors import ArgumentParser, UserError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_record(path: str):
  if not os.path.isfile(path):
    raise UserError(f'config file {path!r} not found (expected experiments/<study>/<name>.py)')
  try:
    module = config_lib.load_config_module(path)
  except SyntaxError as e:
    raise UserError(f'{e.filename or path} line {e.lineno}: {e.msg}') from None
  if not hasattr(module, 'get_record'):
    raise UserError(f'{path} has no get_record(); every experiment config states its paper claim')
  return module, module.get_record()


def train_measure(module, claim, seed, workdir, overrides):
  """The default measure: train get_config(claim.config_arg) with this seed, read an eval metric."""
  config = module.get_config(claim.config_arg) if claim.config_arg else module.get_config()
  summary = harness.seeded_run(config, seed, workdir, overrides)
  if claim.eval_key not in summary['eval']:
    raise UserError(f'claim reads eval metric {claim.eval_key!r}, the run reports '
                    f'{sorted(summary["eval"])}')
  return summary['eval'][claim.eval_key]


def members_measure(module, claim, seeds, workdir, overrides):
  """{seed: the default measure} of every seed from one run of members, or None where the seeds do
  not train as members: one seed, a claim with its own measure, a config that cannot (init_from),
  or overrides that set the seed or the members themselves."""
  from train import loop
  from train import members
  if claim.measure is not None or len(set(seeds)) < 2 or any(
      o.startswith(('--config.seed=', '--config.vmap.')) for o in overrides):
    return None
  config = module.get_config(claim.config_arg) if claim.config_arg else module.get_config()
  config_lib.apply_overrides(config, overrides)
  if members.refusal(config) or members.count(config):
    return None
  seeds = tuple(dict.fromkeys(seeds))
  with config.unlocked():
    config.vmap.seeds = seeds
  summary = loop.train_and_evaluate(config, epath.Path(workdir) / 'seeds', overwrite=True,
                                    progress=False)
  if claim.eval_key not in summary['eval']:
    raise UserError(f'claim reads eval metric {claim.eval_key!r}, the run reports '
                    f'{sorted(summary["eval"])}')
  return dict(zip(seeds, summary['eval'][claim.eval_key]))


def run_claim(path, workdir, seeds=None, threshold=None, overrides=(), members=False):
  module, record = load_record(path)
  claim = record.claim
  seeds = tuple(seeds) if seeds else tuple(claim.seeds)
  if threshold is not None:
    claim = dataclasses.replace(claim, threshold=threshold)
  stamp = provenance.stamp()   # the code that runs is the code at the start
  tally.reset()   # the runs trained for this claim, and those read back instead
  values, details, t0 = [], [], time.time()
  together = members_measure(module, claim, seeds, workdir, list(overrides)) if members else None
  for seed in seeds:
    wd = epath.Path(workdir) / f'seed{seed}'
    if together is not None:
      value = together[seed]
    elif claim.measure is not None:
      value = claim.measure(seed, wd, list(overrides))
    else:
      value = train_measure(module, claim, seed, wd, list(overrides))
    if isinstance(value, tuple):   # (value, {what else the measure saw}): kept in the record
      value, detail = value
      details.append({'seed': seed, **detail})
    values.append(float(value))
    print(f'  seed {seed}: {claim.metric} = {value:.4f}', flush=True)
  mean, std = records.mean_std(values)
  return record, claim, {
      'config': os.path.relpath(os.path.abspath(path), REPO),
      'paper': dataclasses.asdict(record.paper),
      'paper_metric': record.metric, 'paper_value': record.paper_value,
      'paper_setting': record.paper_setting,
      'claim': claim.statement, 'our_setting': claim.setting, 'metric': claim.metric,
      'seeds': list(seeds), 'values': values, 'mean': mean, 'std': std,
      'threshold': claim.threshold, 'direction': claim.direction,
      'margin': records.margin(mean, std, claim.threshold, claim.direction),
      'passed': claim.passes(mean), 'wall_s': round(time.time() - t0, 1),
      **tally.counts(),   # runs_trained, runs_reused, reused_commits, train_s
      **({'details': details} if details else {}),
      **({'paper_number': record.paper_number} if record.paper_number is not None else {}),
      **stamp,
  }


def table(result) -> str:
  value = f'{result["mean"]:.4f} ± {result["std"]:.4f} (n={len(result["values"])})'
  rows = [
      ('paper', f'{result["paper"]["authors"]} {result["paper"]["year"]}, '
                f'{result["paper"]["where"]}'),
      ('paper setting', result['paper_setting']),
      ('paper value', f'{result["paper_metric"]}: {result["paper_value"]}'),
      ('claim', result['claim']),
      ('our setting', result['our_setting']),
      ('our value', f'{result["metric"]}: {value}'),
      ('threshold', f'{result["direction"]} {result["threshold"]}'),
      ('margin', f'{result["margin"]:.2f} std over seeds ((mean - threshold) / std; CI claims '
                 'need >= 2)'),
      ('result', 'PASS' if result['passed'] else
       f'FAIL ({result["metric"]} {result["mean"]:.4f} is not {result["direction"]} '
       f'{result["threshold"]})'),
      ('provenance', f'commit {result["commit"]}, {result["hardware"]}, {result["date"]}, '
                     f'{result["wall_s"]} s'),
      ('runs', f'{result["runs_trained"]} trained here ({result["train_s"]} s), '
               f'{result["runs_reused"]} read back'
               + (f' (trained at {", ".join(result["reused_commits"])})'
                  if result['reused_commits'] else '')),
  ]
  width = max(len(k) for k, _ in rows)
  return '\n'.join(f'{k:<{width}}  {v}' for k, v in rows)


def results_path(config_path: str) -> epath.Path:
  rel = os.path.relpath(os.path.abspath(config_path), os.path.join(REPO, 'experiments'))
  study, name = os.path.split(os.path.splitext(rel)[0])
  return epath.Path(REPO) / 'experiments' / study / 'results' / f'{name}.json'


def main(argv=None):
  parser = ArgumentParser(prog='python -m experiments.reproduce', description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('config', help='experiments/<study>/<name>.py')
  parser.add_argument('--workdir', default='', help='default: runs/reproduce/<study>/<name>')
  parser.add_argument('--seeds', default='', help='comma-separated, default: the claim\'s seeds')
  parser.add_argument('--threshold', type=float, default=None, help='replace the claim threshold')
  parser.add_argument('--members', action='store_true',
                      help='train the seeds of a plain claim together, as members of one run')
  parser.add_argument('--full', action='store_true',
                      help='train the full-scale config instead (meant for the paper\'s hardware)')
  parser.add_argument('--record', action='store_true',
                      help='also store the result under experiments/<study>/results/')
  args, rest = parser.parse_known_args(argv)
  overrides = cli.config_overrides(parser, rest)
  try:
    seeds = [int(s) for s in args.seeds.split(',') if s.strip()] if args.seeds else None
  except ValueError:
    parser.error(f'--seeds {args.seeds!r}: expected integers separated by commas, e.g. 0,1,2')
  if seeds is not None and not seeds:
    parser.error(f'--seeds {args.seeds!r} names no seed')
  if args.threshold is not None and not math.isfinite(args.threshold):
    parser.error(f'--threshold must be a finite number, got {args.threshold}')
  logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(name)s: %(message)s')
  rel = os.path.relpath(os.path.abspath(args.config), os.path.join(REPO, 'experiments'))
  workdir = args.workdir or os.path.join('runs', 'reproduce', os.path.splitext(rel)[0])
  command = 'python -m experiments.reproduce ' + ' '.join(
      shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]) if a != '--record')

  def body():
    if args.record and not args.full:
      provenance.require_clean()   # before any training: a record is of a commit's code
    if args.full:
      return _full(args.config, workdir, overrides)
    _, _, result = run_claim(args.config, workdir, seeds, args.threshold, overrides,
                             members=args.members)
    result['command'] = command
    print(table(result))
    out = epath.Path(workdir) / 'reproduce.json'
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f'wrote {out}')
    if args.record:
      now = provenance.commit()
      if now != result['commit']:
        raise UserError(f'not recorded: the tree changed during the run ({result["commit"]} at '
                        f'the start, {now} now); the result is in {out}')
      path = results_path(args.config)
      path.parent.mkdir(parents=True, exist_ok=True)
      path.write_text(json.dumps(result, indent=2) + '\n')
      print(f'recorded {path}; run `python -m experiments.report` to update the READMEs')
    return 0 if result['passed'] else 1
  return cli.run_guarded(body)


def _full(path, workdir, overrides):
  from train import loop
  module, record = load_record(path)
  config = module.get_config(record.full_config_arg)
  config_lib.apply_overrides(config, overrides)
  print(f'full-scale run of {path} ({record.paper_setting}); paper: {record.metric} = '
        f'{record.paper_value}; meant for {record.full_hardware}, about {record.full_time}')
  loop.train_and_evaluate(config, workdir)
  return 0


if __name__ == '__main__':
  sys.exit(main())
