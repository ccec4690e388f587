"""python -m experiments.record_bench [train.bench arguments]
   python -m experiments.record_bench --from FILE.jsonl

Stores benchmark lines in experiments/bench/results.jsonl, the records that
`python -m experiments.report` turns into the README's speed tables. The first form runs
`python -m train.bench` with the same arguments in this process, prints its line and stores it; the
second stores lines that train.bench printed elsewhere (experiments/bench/gpu.sh on a lent GPU). A
line replaces the one of the same workload, levers, topology and steps per call on the same
hardware. Recording lives here, above the engine: train.bench measures, the experiments keep
the results tables.
"""

import argparse
import json
import os
import sys

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'bench', 'results.jsonl')


def record(result: dict) -> None:
  """Adds `result` to RESULTS, replacing the line it measures again."""
  from experiments.report import machine
  rows = []
  if os.path.exists(RESULTS):
    rows = [json.loads(line) for line in open(RESULTS) if line.strip()]
  key = lambda r: (r['workload'], r.get('input_only', False), machine(r['hardware']),  # noqa: E731
                   tuple(r.get('overrides', ())), r.get('topology'), r.get('steps_per_call', 1))
  rows = [r for r in rows if key(r) != key(result)] + [result]
  os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
  with open(RESULTS, 'w') as f:
    f.writelines(json.dumps(r, sort_keys=True) + '\n' for r in rows)


def _check(row, source: str) -> dict:
  from train.errors import UserError
  if not isinstance(row, dict) or not {'workload', 'hardware'} <= set(row):
    raise UserError(f'{source}: {str(row)[:80]} is not a workload line that train.bench printed')
  return row


def main(argv=None) -> int:
  from train import bench
  from train.errors import ArgumentParser
  from train.errors import UserError
  argv = sys.argv[1:] if argv is None else list(argv)
  parser = ArgumentParser(prog='python -m experiments.record_bench', description=__doc__,
                          formatter_class=argparse.RawDescriptionHelpFormatter, add_help=False)
  parser.add_argument('--from', dest='source', metavar='JSONL',
                      help='record the lines of a file that train.bench printed on another machine')
  parser.add_argument('-h', '--help', action='store_true')
  args, rest = parser.parse_known_args(argv)
  if args.help:
    parser.print_help()
    return 0
  if args.source:
    if rest:
      parser.error(f'--from takes no train.bench arguments, got {" ".join(rest)}')
    try:
      rows = [json.loads(line) for line in open(args.source) if line.strip()]
    except (OSError, ValueError) as e:
      raise UserError(f'--from {args.source}: {e}') from None
    for row in rows:
      record(_check(row, f'--from {args.source}'))
    return 0
  result = bench.measure(rest)
  print(json.dumps(result, sort_keys=True))
  record(_check(result, 'python -m train.bench ' + ' '.join(rest)))
  return 0


if __name__ == '__main__':
  from train import cli
  sys.exit(cli.run_guarded(main))
