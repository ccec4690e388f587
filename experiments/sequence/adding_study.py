"""How often does each recurrent cell solve the adding problem, by sequence length?

    python -m experiments.sequence.adding_study --workdir runs/adding_study [--record]
    python -m experiments.sequence.adding_study --table    # README table from the recorded JSON

Trains `experiments/sequence/adding.py`'s config (32 units, Adam 3e-3, batch 64, 3000 steps: the
budget of the three adding claims) for every cell (tanh RNN, LSTM, GRU), length T (100, 200, 400)
and seed (0-9), and counts the seeds whose test MSE is <= SOLVED, the LSTM claim's threshold (the
mean predictor's MSE is 0.167). One number per run is noisy: the tanh RNN at T=100 lands anywhere
from 0.012 to 0.27 with float rounding alone (an AVX-512 EPYC and an AVX-512 Xeon gave the same
seeds different values), so the study reports the fraction of seeds solved, and the claims sit
where the gap holds on every seed.

Every run is an ordinary `train.loop.train_and_evaluate` in WORKDIR/<cell>_t<T>/seed<s>; a
finished run of the same config trained at the same clean commit is reused, so a killed study
resumes where it stopped (`experiments.provenance.train_or_reuse`). The table
(JSON + Markdown + a plot) goes into the workdir; `--record` also writes results/adding_study.json
with the commit and hardware, from which experiments/sequence/README.md's table is generated.
"""

import argparse
import json
import os
import statistics
import sys
import time

from etils import epath

from experiments.sequence import adding
from train import cli

CELLS = ('rnn', 'lstm', 'gru')
LENGTHS = (100, 200, 400)
SEEDS = tuple(range(10))
SOLVED = 0.03           # test MSE; predicting the mean gives 0.167
RESULT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'results', 'adding_study.json')
BEGIN, END = '<!-- adding-study:begin -->', '<!-- adding-study:end -->'
NAMES = {'rnn': 'tanh RNN', 'lstm': 'LSTM', 'gru': 'GRU'}


def config(cell: str, length: int, seed: int):
  c = adding.config(cell, length=length)
  c.seed = seed
  c.eval_every = 0   # one eval, at the end: the number the study reads
  c.plots = False
  return c


def test_mse(cell: str, length: int, seed: int, workdir) -> float:
  """Trains one run, or reads the finished run of the same config in `workdir` when this commit
  trained it."""
  from experiments import provenance
  return provenance.train_or_reuse(config(cell, length, seed), workdir)['eval']['mse']


def run(workdir, cells=CELLS, lengths=LENGTHS, seeds=SEEDS) -> dict:
  rows, t0 = [], time.time()
  for length in lengths:
    for cell in cells:
      values = []
      for seed in seeds:
        values.append(test_mse(cell, length, seed,
                               epath.Path(workdir) / f'{cell}_t{length}' / f'seed{seed}'))
      solved = sum(v <= SOLVED for v in values)
      rows.append({'cell': cell, 'length': length, 'seeds': list(seeds), 'values': values,
                   'solved': solved, 'median': statistics.median(values)})
      print(f'  T={length} {NAMES[cell]:8s} solved {solved}/{len(values)}  MSE '
            + ' '.join(f'{v:.4f}' for v in values), flush=True)
  return {'solved_threshold': SOLVED, 'setting': _setting(), 'rows': rows,
          'wall_s': round(time.time() - t0, 1)}


def _setting() -> str:
  c = adding.config('lstm')
  return (f'{c.model.hidden} units, Adam {c.optimizer.learning_rate:g} '
          f'(clip {c.optimizer.clip_norm:g}), '
          f'batch {c.data.batch_size}, {c.num_steps} steps; T=100: 100k train / 10k test, '
          'T=200 and 400: 50k / 5k sequences')


def markdown(result: dict) -> str:
  lengths = sorted({r['length'] for r in result['rows']})
  cells = [c for c in CELLS if any(r['cell'] == c for r in result['rows'])]
  by = {(r['cell'], r['length']): r for r in result['rows']}
  head = ['cell'] + [f'T={t}: solved (median MSE)' for t in lengths]
  lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
  for cell in cells:
    cells_md = [NAMES[cell]]
    for t in lengths:
      r = by.get((cell, t))
      cells_md.append(f'{r["solved"]}/{len(r["values"])} ({r["median"]:.3g})' if r else '')
    lines.append('| ' + ' | '.join(cells_md) + ' |')
  lines.append('')
  lines.append(f'Solved: test MSE <= {result["solved_threshold"]} (the mean predictor: 0.167). '
               f'{result["setting"]}. Per-seed values in `results/adding_study.json`.')
  if 'commit' in result:
    lines.append(f'`{result["command"]}` at {result["commit"]}, {result["hardware"]}, '
                 f'{result["date"]}, {result["wall_s"] / 60:.0f} min.')
  return '\n'.join(lines)


def update_readme(result: dict, readme: str) -> None:
  text = open(readme).read()
  block = markdown(result)
  if BEGIN in text and END in text:
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    text = text[:start] + '\n' + block + '\n' + text[end:]
  else:
    text = text.rstrip('\n') + f'\n\n{BEGIN}\n{block}\n{END}\n'
  with open(readme, 'w') as f:
    f.write(text)


def plot(result: dict, path) -> None:
  import matplotlib
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt
  fig, ax = plt.subplots(figsize=(6, 3.6))
  for i, cell in enumerate(CELLS):
    rows = [r for r in result['rows'] if r['cell'] == cell]
    for r in rows:
      x = [r['length'] * (1 + 0.06 * (i - 1))] * len(r['values'])
      ax.scatter(x, r['values'], s=14, alpha=0.7, color=f'C{i}',
                 label=NAMES[cell] if r is rows[0] else None)
  ax.axhline(result['solved_threshold'], color='gray', ls='--', lw=1, label='solved')
  ax.axhline(1 / 6, color='gray', ls=':', lw=1, label='mean predictor')
  ax.set_xscale('log')
  ax.set_yscale('log')
  ax.set_xticks(sorted({r['length'] for r in result['rows']}))
  ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
  ax.get_xaxis().set_minor_formatter(matplotlib.ticker.NullFormatter())
  ax.set_xlabel('sequence length T')
  ax.set_ylabel('test MSE (one dot per seed)')
  ax.legend(fontsize=8)
  ax.grid(alpha=0.3)
  fig.tight_layout()
  fig.savefig(path, dpi=90)
  plt.close(fig)


def _ints(text: str) -> tuple:
  out = []
  for part in text.split(','):
    lo, _, hi = part.partition('-')
    out += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
  return tuple(out)


def main(argv=None):
  parser = argparse.ArgumentParser(prog='python -m experiments.sequence.adding_study',
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--workdir', default='runs/adding_study')
  parser.add_argument('--cells', default=','.join(CELLS))
  parser.add_argument('--lengths', default=','.join(map(str, LENGTHS)))
  parser.add_argument('--seeds', default='0-9', help='e.g. 0-9 or 0,1,2')
  parser.add_argument('--record', action='store_true',
                      help='write results/adding_study.json and the README table')
  parser.add_argument('--table', action='store_true',
                      help='only rewrite the README table from results/adding_study.json')
  args = parser.parse_args(argv)
  readme = os.path.join(os.path.dirname(RESULT), '..', 'README.md')
  if args.table:
    with open(RESULT) as f:
      update_readme(json.load(f), readme)
    return 0
  cells = tuple(args.cells.split(','))
  unknown = [c for c in cells if c not in CELLS]
  if unknown:
    parser.error(f'unknown cell {unknown[0]!r}; use {", ".join(CELLS)}')
  return cli.run_guarded(lambda: _study(args, sys.argv[1:] if argv is None else argv, readme))


def _study(args, argv, readme):
  from experiments import provenance
  from train import tally
  if args.record:
    provenance.require_clean()   # before any training: a record is of a commit's code
  stamp = provenance.stamp()   # the code that runs is the code at the start
  tally.reset()
  result = run(args.workdir, tuple(args.cells.split(',')), _ints(args.lengths), _ints(args.seeds))
  result.update(tally.counts())   # runs_trained, runs_reused, reused_commits, train_s
  result['command'] = 'python -m experiments.sequence.adding_study ' + ' '.join(
      a for a in argv if a != '--record')
  result.update(stamp)
  out = epath.Path(args.workdir)
  out.mkdir(parents=True, exist_ok=True)
  (out / 'adding_study.json').write_text(json.dumps(result, indent=2))
  (out / 'adding_study.md').write_text(markdown(result) + '\n')
  plot(result, out / 'adding_study.png')
  print(markdown(result))
  if args.record:
    with open(RESULT, 'w') as f:
      f.write(json.dumps(result, indent=2) + '\n')
    update_readme(result, readme)
    print(f'recorded {RESULT} and the table in experiments/sequence/README.md')
  return 0


if __name__ == '__main__':
  raise SystemExit(main())
