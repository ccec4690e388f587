"""python -m experiments.report [--check]

Regenerates the results tables — one per study in experiments/<study>/README.md, one over all
studies in README.md — from the JSON that `python -m experiments.reproduce ... --record` stored in
experiments/<study>/results/. Tables sit between `<!-- results:begin -->` and
`<!-- results:end -->`; nothing else in the files is touched. `--check` changes nothing and exits
1 if a table is out of date (a test runs it).
"""

import argparse
import glob
import json
import math
import os
import re
import sys

from experiments import records

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN, END = '<!-- results:begin -->', '<!-- results:end -->'


def machine(hardware: str) -> str:
  """A bench line's hardware without its JAX device count: a CPU split into N devices
  (config.cpu_devices) is the same machine, with the same matmul peak and the same table rows."""
  return re.sub(r', \d+ jax devices\)$', ')', hardware)


def load_results() -> dict[str, list[dict]]:
  by_study = {}
  for path in sorted(glob.glob(os.path.join(REPO, 'experiments', '*', 'results', '*.json'))):
    study = os.path.basename(os.path.dirname(os.path.dirname(path)))
    with open(path) as f:
      result = json.load(f)
    # a study's own table (e.g. sequence/results/adding_study.json) is not a claim
    if 'claim' in result:
      by_study.setdefault(study, []).append(result)
  return by_study


def _value(r):
  versus = ''
  if r.get('paper_number') is not None:
    versus = f'; {r["mean"] - r["paper_number"]:+.4f} vs the paper\'s {r["paper_number"]:.4g}'
  return (f'{r["mean"]:.4g} ± {r["std"]:.2g} (n={len(r["values"])})' + versus
          + _details(r.get('details')))


def _details(details) -> str:
  """Per-seed numbers a measure recorded beside its value: '; modes_covered 1/1/2'."""
  if not details:
    return ''
  parts = []
  for key in details[0]:
    vals = [d.get(key) for d in details]
    if key == 'seed' or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                for v in vals):
      continue
    shown = [f'{v:.4g}' for v in vals]
    parts.append(f'{key} {shown[0] if len(set(shown)) == 1 else "/".join(shown)}')
  return ('; per seed: ' + ', '.join(parts)) if parts else ''


def _margin(r) -> str:
  """(mean - threshold) / std over seeds, as recorded (older records: from their numbers)."""
  m = r.get('margin')
  if m is None:
    m = records.margin(r['mean'], r['std'], r['threshold'], r['direction'])
  if math.isinf(m):
    return 'inf (seeds equal)' if len(r['values']) > 1 else 'n/a (1 seed)'
  return f'{m:.1f}'


def _row(r, with_study=False):
  name = os.path.splitext(os.path.basename(r['config']))[0]
  cells = [f'`{r["config"]}`' if with_study else name,
           r['claim'], f'{r["paper_metric"]}: {r["paper_value"]}',
           f'{r["metric"]}: {_value(r)}', f'{r["direction"]} {r["threshold"]}', _margin(r),
           '**PASS**' if r['passed'] else '**FAIL**', f'`{r["command"]}`',
           f'{r["commit"]}, {r["hardware"]}, {r["date"]}, {r["wall_s"]:.0f} s']
  return '| ' + ' | '.join(str(c).replace('|', '\\|') for c in cells) + ' |'


def table(results, with_study=False) -> str:
  head = ['experiment', 'claim (what of the paper it checks)', 'paper', 'ours', 'threshold',
          'margin (std)', 'result', 'command', 'commit, hardware, date, wall time']
  lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
  lines += [_row(r, with_study) for r in results]
  if not results:
    lines.append('| (no recorded results yet) |' + ' |' * (len(head) - 1))
  return '\n'.join(lines)


def replace_block(text: str, block: str) -> str:
  if BEGIN not in text or END not in text:
    return text.rstrip('\n') + f'\n\n## Results\n\n{BEGIN}\n{block}\n{END}\n'
  start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
  return text[:start] + '\n' + block + '\n' + text[end:]


BENCH_BEGIN, BENCH_END = '<!-- bench:begin -->', '<!-- bench:end -->'


def _load(r):
  load = r.get('foreign_cpu_util')
  return '' if load is None else f'{load:.2f} cores'


def bench_table() -> str:
  """One row per measured workload: ours, PyTorch timed alternately in the same run (when the
  line has a reference), the share of the same machine's matmul peak, the input path, and
  XLA's TPU cost estimate of the same step (labelled as an estimate)."""
  path = os.path.join(REPO, 'experiments', 'bench', 'results.jsonl')
  rows = [json.loads(l) for l in open(path) if l.strip()] if os.path.exists(path) else []
  estimates = {(r['workload'], tuple(r.get('overrides', ()))): r for r in rows if r.get('estimate')}
  peaks = {machine(r['hardware']): r['peak_gflops'] for r in rows if r['workload'] == 'peak'}
  head = ['workload', 'median step (s)', 'PyTorch, same run (s)', 'vs PyTorch', 'examples/s',
          'GFLOP/s', 'of peak', 'compile (s)', 'other load', 'TPU v5e:2x2 estimate (ms/step)',
          'command', 'hardware, commit, date']
  lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
  measured = [r for r in rows if not r.get('estimate')]
  accelerated = [r for r in measured if r.get('platform', 'cpu') != 'cpu']
  measured = [r for r in measured if r.get('platform', 'cpu') == 'cpu']
  for r in sorted(measured, key=lambda r: (machine(r['hardware']), r['workload'],
                                           r.get('input_only', False),
                                           tuple(r.get('overrides', ())))):
    levers = _levers(r)
    name = r['workload'] + (f' ({levers})' if levers else '')
    if r['workload'] == 'peak':
      cells = ['peak (f32 matmul)', '', '', '', '', f'{r["peak_gflops"]:.0f}', '', '', '', '']
    elif r.get('input_only'):
      cells = [f'{r["workload"]} input path ({r["data"]})', f'{r["mean_batch_s"]:.5f}', '', '',
               f'{r["examples_per_s"]:.0f}', '', '', '', _load(r), '']
    else:
      ref = r.get('reference') or {}
      peak = peaks.get(machine(r['hardware']))
      est = estimates.get((r['workload'], tuple(r.get('overrides', ()))))
      cells = [name, f'{r["median_step_s"]:.4f}',
               f'{ref["median_step_s"]:.4f}' if ref else '',
               f'{r["speedup_vs_reference"]:.2f}x' if ref else '',
               f'{r["examples_per_s"]:.0f}', f'{r["gflops"]:.1f}',
               f'{100 * r["gflops"] / peak:.0f}%' if peak else '', f'{r["compile_s"]:.1f}',
               _load(r),
               f'{1e3 * est["roofline_step_s"]:.3f} ({est["bound"]}-bound)' if est else '']
    cells += [f'`{r.get("command", "")}`', f'{r["hardware"]}, {r["commit"]}, {r["date"]}']
    lines.append('| ' + ' | '.join(cells) + ' |')
  if not rows:
    lines.append('| (no recorded benchmarks yet) |' + ' |' * (len(head) - 1))
  for hardware in sorted({r['hardware'] for r in accelerated}):
    lines += ['', accelerator_table([r for r in accelerated if r['hardware'] == hardware])]
  return '\n'.join(lines)


def _levers(r) -> str:
  levers = list(r.get('overrides', ()))
  if r.get('steps_per_call', 1) > 1:
    levers.append(f'{r["steps_per_call"]} steps per call')
  return ' '.join(levers)


def accelerator_table(rows) -> str:
  """One accelerator's rows: step time, achieved TFLOP/s, model-FLOPs utilization against the
  chip's datasheet peak for the compute dtype, and the share of the matmul peak measured there."""
  peak = next((r for r in rows if r['workload'] == 'peak'), None)
  head = ['workload', 'compute dtype', 'median step (ms)', 'examples/s', 'TFLOP/s',
          'MFU (of spec peak)', 'of measured matmul peak', 'compile (s)', 'command',
          'jax, commit, date']
  first = rows[0]
  lines = [f'**{first["hardware"]}** (jax {first.get("jax")}; f32 matmuls run as TF32 under XLA\'s '
           'default precision, so their MFU is against the TF32 peak):', '',
           '| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
  order = lambda r: (r['workload'] != 'peak', r['workload'], r.get('steps_per_call', 1),  # noqa: E731
                     tuple(r.get('overrides', ())))
  for r in sorted(rows, key=order):
    if r['workload'] == 'peak':
      cells = ['peak (matmul)', 'f32 / bf16', '', '',
               f'{r["peak_gflops"] / 1e3:.1f} / {r.get("peak_bf16_gflops", 0) / 1e3:.1f}',
               f'spec {r.get("spec_peak_bf16_tflops")} (bf16)', '', '']
    else:
      dtype = r.get('compute_dtype', 'float32')
      measured_peak = peak and (peak.get('peak_bf16_gflops') if dtype == 'bfloat16'
                                else peak['peak_gflops'])
      name = r['workload'] + (f' ({_levers(r)})' if _levers(r) else '')
      cells = [name, dtype, f'{1e3 * r["median_step_s"]:.3f}', f'{r["examples_per_s"]:.0f}',
               f'{r["gflops"] / 1e3:.1f}',
               f'{100 * r["mfu"]:.1f}% of {r["spec_peak_tflops"]:g}' if 'mfu' in r else '',
               f'{100 * r["gflops"] / measured_peak:.0f}%' if measured_peak else '',
               f'{r["compile_s"]:.1f}']
    cells += [f'`{r.get("command", "")}`', f'{r.get("jax")}, {r["commit"]}, {r["date"]}']
    lines.append('| ' + ' | '.join(cells) + ' |')
  return '\n'.join(lines)


def list_table(r) -> str | None:
  """A claim's per-item numbers (details holding equal-length lists per seed, e.g. an AUROC per
  class), one row per item: mean ± std over seeds of each list; rows named by details' `labels`."""
  details = r.get('details') or []
  if not details:
    return None
  numeric = lambda v: isinstance(v, list) and v and all(  # noqa: E731
      isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
  keys = [k for k in details[0] if all(numeric(d.get(k)) for d in details)]
  if not keys:
    return None
  n = len(details[0][keys[0]])
  labels = details[0].get('labels') or [str(i) for i in range(n)]
  lines = ['| item | ' + ' | '.join(keys) + ' |', '|' + '---|' * (len(keys) + 1)]
  for i in range(n):
    cells = []
    for k in keys:
      mean, std = records.mean_std([d[k][i] for d in details])
      cells.append(f'{mean:.4f} ± {std:.4f}')
    lines.append(f'| {labels[i]} | ' + ' | '.join(cells) + ' |')
  seeds = ', '.join(str(d.get('seed')) for d in details)
  return (f'Per item, mean ± std over seeds {seeds}; generated by `python -m experiments.report` '
          f'from `results/{os.path.splitext(os.path.basename(r["config"]))[0]}.json` '
          f'(commit {r["commit"]}).\n\n' + '\n'.join(lines))


def replace_between(text, begin, end, block):
  if begin not in text or end not in text:
    return text
  a, b = text.index(begin) + len(begin), text.index(end)
  return text[:a] + '\n' + block + '\n' + text[b:]


def planned() -> dict[str, str]:
  """path -> new content for every README the tables go into."""
  results = load_results()
  out = {}
  for study, rows in results.items():
    path = os.path.join(REPO, 'experiments', study, 'README.md')
    text = open(path).read() if os.path.exists(path) else f'# {study} study\n'
    note = ('Generated by `python -m experiments.report` from `results/*.json`; each row was '
            'produced by the command in it.\n\n')
    text = replace_block(text, note + table(rows))
    for r in rows:   # per-item tables where the README has a place for them
      name, block = os.path.splitext(os.path.basename(r['config']))[0], list_table(r)
      if block:
        text = replace_between(text, f'<!-- {name}:begin -->', f'<!-- {name}:end -->', block)
    out[path] = text
  path = os.path.join(REPO, 'README.md')
  allrows = [r for study in sorted(results) for r in results[study]]
  text = replace_block(open(path).read(), table(allrows, with_study=True))
  out[path] = replace_between(text, BENCH_BEGIN, BENCH_END, bench_table())
  return out


def main(argv=None):
  parser = argparse.ArgumentParser(prog='python -m experiments.report', description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--check', action='store_true', help='exit 1 if a table is out of date')
  args = parser.parse_args(argv)
  stale = []
  for path, text in planned().items():
    old = open(path).read() if os.path.exists(path) else ''
    if old != text:
      stale.append(os.path.relpath(path, REPO))
      if not args.check:
        with open(path, 'w') as f:
          f.write(text)
  if args.check:
    if stale:
      print('out of date (run `python -m experiments.report`): ' + ', '.join(stale))
      return 1
    print('results tables are up to date')
    return 0
  print('updated: ' + (', '.join(stale) if stale else 'nothing (all up to date)'))
  return 0


if __name__ == '__main__':
  sys.exit(main())
