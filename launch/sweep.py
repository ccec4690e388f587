"""python -m launch.sweep --config FILE[:ARG] --workdir DIR --grid KEY=V1,V2 [--grid ...]
    [--metric eval/accuracy] [--local] [--tpu_vm NAME --zone ZONE] [--dry-run] [--config.KEY=V ...]

Trains every point of the grid (the product of the --grid values) in its own workdir under DIR,
named from its overrides (`DIR/seed=0,model.dropout=0.1`), then writes `DIR/sweep.jsonl` (a row per
point) and `DIR/sweep.md` (a markdown table, best first by --metric).

Points that differ only in `seed` or `optimizer.learning_rate` train together, as the members of
one run (config.vmap, train/members.py) in one process: its workdir is DIR/members/<name>, and
each member's config.json, metrics.jsonl and summary.json are then written to its point's workdir
(its checkpoint stays member i of the run's). The sweep resumes: a point whose workdir holds a
finished run of its config (train.loop.finished_run) is not trained again, and a run stopped
midway resumes from its checkpoint.

--metric SPLIT/FIELD: the FIELD of the last `split: SPLIT` row of the point's metrics.jsonl
(eval/accuracy: the final test accuracy). Sorted high to low, or low to high for fields that name
an error (loss, error, mse, perplexity, nll, ndei); --order says otherwise.

Where points run: here, one process after another (--local, the default), or on an existing Cloud
TPU VM (--tpu_vm NAME --zone ZONE; launch/tpu_vm.py's `run`: DIR should be gs://...). --dry-run
prints the commands, one per group of points, each after a `#` line per point it trains, and runs
nothing.
"""

import argparse
import hashlib
import itertools
import json
import math
import os
import re
import shlex
import subprocess
import sys

from train import cli
from train.errors import ArgumentParser, UserError

# Keys whose values members of one run may differ in (config.vmap).
MEMBER_KEYS = {'seed': 'seeds', 'optimizer.learning_rate': 'learning_rates'}
LOWER_IS_BETTER = ('loss', 'error', 'mse', 'perplexity', 'nll', 'ndei')


def parse(argv):
  parser = ArgumentParser(prog='python -m launch.sweep', description=__doc__,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--config', required=True, metavar='FILE[:ARG]')
  parser.add_argument('--workdir', required=True, help='one workdir per point goes under it')
  parser.add_argument('--grid', action='append', default=[], metavar='KEY=V1,V2',
                      help='a config key and its values (commas inside brackets stay with the '
                           'value); repeat for more keys')
  parser.add_argument('--metric', default='eval/accuracy', metavar='SPLIT/FIELD')
  parser.add_argument('--order', choices=('max', 'min'), default='',
                      help='best first: max (default) or min (default for errors and losses)')
  parser.add_argument('--local', action='store_true', help='train here (the default)')
  parser.add_argument('--tpu_vm', default='', metavar='NAME', help='train on this TPU VM')
  parser.add_argument('--zone', default='', help='the TPU VM\'s zone')
  parser.add_argument('--project', default='', help='the TPU VM\'s project (default: gcloud\'s)')
  parser.add_argument('--dry-run', '--dry_run', dest='dry_run', action='store_true',
                      help='print the commands, run nothing')
  args, rest = parser.parse_known_args(argv)
  overrides = cli.config_overrides(parser, rest)
  if not args.grid:
    parser.error('give at least one --grid KEY=V1,V2')
  if args.local and args.tpu_vm:
    parser.error('--local and --tpu_vm: choose one')
  if args.tpu_vm and not args.zone:
    parser.error('--tpu_vm needs --zone')
  split, _, field = args.metric.partition('/')
  if not split or not field:
    parser.error(f'--metric {args.metric!r}: expected SPLIT/FIELD, e.g. eval/accuracy')
  grid = []
  for item in args.grid:
    key, eq, values = item.partition('=')
    values = split_values(values)
    if not eq or not key or not values:
      parser.error(f'--grid {item!r}: expected KEY=V1,V2 (e.g. seed=0,1,2)')
    if key in [k for k, _ in grid]:
      parser.error(f'--grid {key} given twice')
    grid.append((key, values))
  return args, grid, overrides


def split_values(text: str) -> list[str]:
  """'0.1,0.2' -> ['0.1', '0.2']; commas inside brackets or quotes stay: '(1, 2),(3, 4)'."""
  out, depth, quote, current = [], 0, '', ''
  for ch in text:
    if quote:
      quote = '' if ch == quote else quote
    elif ch in '\'"':
      quote = ch
    elif ch in '([{':
      depth += 1
    elif ch in ')]}':
      depth -= 1
    elif ch == ',' and depth == 0:
      out.append(current.strip())
      current = ''
      continue
    current += ch
  out.append(current.strip())
  return [v for v in out if v]


def point_name(point) -> str:
  """'seed=0,model.dropout=0.1': each override, its value kept to characters safe in a path."""
  return ','.join(f'{k}={re.sub(r"[^A-Za-z0-9._+-]", "_", v)}' for k, v in point)


def config_of(spec, overrides, point):
  """The config of one point, validated (a bad key or value stops the sweep before any run)."""
  from train import config as config_lib
  config = config_lib.load(spec)
  config_lib.apply_overrides(config, list(overrides) + as_overrides(point))
  config_lib.validate(config)
  return config


def as_overrides(pairs) -> list[str]:
  return [f'--config.{k}={v}' for k, v in pairs]


def plan(spec, grid, overrides, workdir):
  """[(group workdir or None, [(point, name, config)])]: points that differ only in member keys
  share a group (a run of members) unless the config cannot run members; the others run alone."""
  from train import members
  points = [list(zip([k for k, _ in grid], values))
            for values in itertools.product(*[v for _, v in grid])]
  names = [point_name(p) for p in points]
  if len(set(names)) != len(names):
    raise UserError('two grid points get the same workdir name: give distinct values')
  groups = {}
  for point, name in zip(points, names):
    config = config_of(spec, overrides, point)
    rest = tuple((k, v) for k, v in point if k not in MEMBER_KEYS)
    alone = members.count(config) or members.refusal(config)
    groups.setdefault(rest if not alone else ('alone', name), []).append((point, name, config))
  return list(groups.values())


def member_overrides(group) -> list[str]:
  """The overrides of a group's run: what its points share, and config.vmap for what differs."""
  first = group[0][0]
  shared = [(k, v) for k, v in first if k not in MEMBER_KEYS]
  out = as_overrides(shared)
  for key, field in MEMBER_KEYS.items():
    if any(k == key for k, _ in first):
      values = [dict(point)[key] for point, _, _ in group]
      out.append(f'--config.vmap.{field}=({", ".join(values)},)')
  return out


def group_dir(workdir, group) -> str:
  """DIR/members/<shared overrides>-<hash of the members>: another set of members is another run."""
  shared = [(k, v) for k, v in group[0][0] if k not in MEMBER_KEYS]
  digest = hashlib.sha1(json.dumps([n for _, n, _ in group]).encode()).hexdigest()[:8]
  return os.path.join(workdir, 'members', f'{point_name(shared) or "all"}-{digest}')


def write_member_workdirs(group_workdir, workdir, group) -> None:
  """Each member's config.json, metrics.jsonl rows and summary.json, as its own run's workdir."""
  from etils import epath
  from train import atomic
  from train import config as config_lib
  from train import members
  from train import metrics as metrics_lib
  source = epath.Path(group_workdir)
  saved = config_lib.from_saved(json.loads((source / 'config.json').read_text()))
  summary = json.loads((source / 'summary.json').read_text())
  rows = metrics_lib.read(source)
  for i, (_, name, _) in enumerate(group):
    out = epath.Path(workdir) / name
    out.mkdir(parents=True, exist_ok=True)
    atomic.write(out / 'config.json', config_lib.to_json(members.member_config(saved, i)))
    mine = [{k: v for k, v in r.items() if k != 'member'} for r in rows if r.get('member') == i]
    atomic.write(out / 'metrics.jsonl', ''.join(json.dumps(r) + '\n' for r in mine))
    own = {k: v for k, v in summary.items() if k != 'members'}
    own['eval'] = {k: v[i] if isinstance(v, list) else v for k, v in summary['eval'].items()}
    own['member_of'] = {'workdir': str(source), 'member': i}
    atomic.write(out / 'summary.json', json.dumps(own, indent=2))


def read_metric(workdir, split: str, field: str):
  """(value, step) of FIELD in the last row of SPLIT in workdir's metrics.jsonl, or (None, None)."""
  from train import metrics as metrics_lib
  for row in reversed(metrics_lib.read(workdir)):
    if row.get('split') == split and field in row:
      return row[field], row['step']
  return None, None


def write_results(workdir, grid, points, metric, order) -> list[dict]:
  """DIR/sweep.jsonl and DIR/sweep.md, best first; points without the metric last."""
  from etils import epath
  from train import atomic
  split, _, field = metric.partition('/')
  rows = []
  for point, name in points:
    value, step = read_metric(os.path.join(workdir, name), split, field)
    rows.append({'point': name, 'workdir': os.path.join(workdir, name),
                 'overrides': dict(point), 'metric': metric, 'value': value, 'step': step})
  usable = [r for r in rows if isinstance(r['value'], (int, float)) and math.isfinite(r['value'])]
  usable.sort(key=lambda r: r['value'], reverse=order == 'max')
  rows = usable + [r for r in rows if r not in usable]
  atomic.write(epath.Path(workdir) / 'sweep.jsonl', ''.join(json.dumps(r) + '\n' for r in rows))
  keys = [k for k, _ in grid]
  lines = [f'| rank | {" | ".join(keys)} | {metric} | step | workdir |',
           '|' + '---|' * (len(keys) + 4)]
  for rank, r in enumerate(rows, 1):
    value = f'{r["value"]:.4f}' if r in usable else 'no result'
    lines.append(f'| {rank} | {" | ".join(r["overrides"][k] for k in keys)} | {value} | '
                 f'{r["step"] if r["step"] is not None else ""} | {r["point"]} |')
  atomic.write(epath.Path(workdir) / 'sweep.md', '\n'.join(lines) + '\n')
  return rows


def runner(args):
  """run(train_args, note_lines) -> exit code, here or on the TPU VM (printed only on a dry run)."""
  from launch import tpu_vm
  shell = tpu_vm.Shell(args.dry_run)
  if args.tpu_vm:
    vm = tpu_vm.TpuVm(argparse.Namespace(name=args.tpu_vm, zone=args.zone, project=args.project,
                                         log_dir='logs/tpu_vm', dry_run=args.dry_run), shell)

  def run(train_args, notes):
    for line in notes:
      print(f'# {line}', flush=True)
    if args.tpu_vm:
      return vm.run(train_args, tpu_vm.log_path_for(vm.args))
    command = [sys.executable, '-m', 'train'] + train_args
    if args.dry_run:
      print(shlex.join(command), flush=True)
      return 0
    return subprocess.run(command).returncode
  return run


def sweep(argv=None) -> int:
  args, grid, overrides = parse(sys.argv[1:] if argv is None else argv)
  from train import loop
  groups = plan(args.config, grid, overrides, args.workdir)
  field = args.metric.partition('/')[2]
  order = args.order or ('min' if any(w in field for w in LOWER_IS_BETTER) else 'max')
  run = runner(args)
  failed, trained = [], 0
  total = sum(len(g) for g in groups)
  for group in groups:
    todo = [(p, n, c) for p, n, c in group
            if not loop.finished_run(c, os.path.join(args.workdir, n))]
    if not todo:
      continue
    base = ['--config', args.config] + list(overrides)
    if len(todo) == 1:
      point, name, _ = todo[0]
      code = run(base + ['--workdir', os.path.join(args.workdir, name)] + as_overrides(point),
                 [f'point {name}'])
    else:
      where = group_dir(args.workdir, todo)
      code = run(base + ['--workdir', where] + member_overrides(todo),
                 [f'point {n} (member {i})' for i, (_, n, _) in enumerate(todo)])
      if code == 0 and not args.dry_run:
        write_member_workdirs(where, args.workdir, todo)
    trained += len(todo)
    if code:
      failed += [n for _, n, _ in todo]
      print(f'launch.sweep: {", ".join(n for _, n, _ in todo)}: exit code {code}',
            file=sys.stderr)
  print(f'launch.sweep: {total} points, {total - trained} finished before, {trained} '
        f'{"to train" if args.dry_run else "trained"}'
        + (f', {len(failed)} failed' if failed else ''), flush=True)
  if args.dry_run:
    return 0
  points = [(p, n) for g in groups for p, n, _ in g]
  rows = write_results(args.workdir, grid, points, args.metric, order)
  best = rows[0] if rows and rows[0]['value'] is not None else None
  print(f'launch.sweep: wrote {os.path.join(args.workdir, "sweep.md")}'
        + (f'; best {best["point"]}: {args.metric} = {best["value"]:.4f}' if best else ''))
  return 1 if failed else 0


def main(argv=None) -> int:
  return cli.run_guarded(lambda: sweep(argv))


if __name__ == '__main__':
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  sys.exit(main())
