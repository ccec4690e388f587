"""Yosinski et al. 2014's Figure 2 at small scale on Fashion-MNIST: the runs, the arms, the figure.

The data set split into two halves by class, A = 0-4 (T-shirt/top, trouser, pullover, dress, coat)
and B = 5-9 (sandal, shirt, sneaker, bag, ankle boot), each relabelled 0-4. A CNN with L = 4
trainable layers before its head (models/cnn.py `transfer4`: Conv_0-2 3x3 16-32-32, each with
ReLU and max-pool 2, Dense_0 64, head Dense_1) is trained on A and on B: the two source networks;
the one trained on B is baseB. For n = 1..L the paper's four arms are nets for B whose first n
layers are copied from a source and whose other layers (the head among them) start fresh:

  BnB    copied from the B net, frozen          BnB+   copied from the B net, fine-tuned
  AnB    copied from the A net, frozen          AnB+   copied from the A net, fine-tuned

Every net trains with the same recipe (Adam 1e-3, batch BATCH, STEPS steps on the 30,000 training
images of its half) and is scored on the 5,000 test images of B. The few-label regime trains on the
first FEW_LABELS training images of each class of B only: FEW_ARM at n = FEW_N against the same net
from scratch, FEW_STEPS steps each (the arm and n chosen by the seed-0 sweep `few_labels_sweep`,
fashion_few_labels.py).

Sources and arms are shared through experiments/harness.py: a source with its checkpoint by
`cached_run`, an arm's accuracy by `cached_eval`, so at one commit the claims
(fashion_finetune_no_harm.py, fashion_specificity.py, fashion_few_labels.py) train each run
once. Source nets get the seed 100 + seed, so an arm's fresh layers are not drawn as its source's
initial values were.

  python -m experiments.transfer.figure2 --workdir runs/fashion_figure2   # all arms, figure2.png
  python -m experiments.transfer.figure2 --few-labels-sweep --seeds 0 --workdir runs/few_sweep
"""

import argparse
import json

from etils import epath

from experiments import harness
from experiments.fashion import common as fashion
from experiments.transfer import study

A_CLASSES = (0, 1, 2, 3, 4)
B_CLASSES = (5, 6, 7, 8, 9)
LAYERS = ('Conv_0', 'Conv_1', 'Conv_2', 'Dense_0')   # input side first; the head is Dense_1
ARMS = {'BnB': ('B', 'frozen'), 'BnB+': ('B', 'finetune'),
        'AnB': ('A', 'frozen'), 'AnB+': ('A', 'finetune')}
BATCH = 64
HALF_TRAIN = 30_000      # training images of each half
STEPS = 3 * (HALF_TRAIN // BATCH)   # 3 passes: 1404 steps
FEW_LABELS = 10          # labels per class of B in the few-label regime
FEW_STEPS = 300
FEW_ARM, FEW_N = 'AnB', 3   # the few-label arm: A's first 3 layers, frozen (seed-0 sweep)
FEW_LR_MULTIPLIERS = (0.1, 0.01)   # the sweep's AnB+ also fine-tunes copied layers at these rates
SOURCE_SEED = 100        # a source net trains with SOURCE_SEED + seed


def base(classes, steps: int = STEPS, batch: int = BATCH, per_class: int = 0):
  c = fashion.base(batch=batch)
  c.model.name, c.model.variant = 'cnn', 'transfer4'
  with c.model.unlocked():
    c.model.num_classes = len(classes)
  c.data.classes = classes
  c.data.per_class = per_class
  c.data.eval_batch_size = 1000
  c.num_steps = steps
  c.eval_every = 0          # scored once, at the end
  c.ckpt_every = steps
  c.log_every = 100
  c.plots = False
  return c


def source_config(half: str):
  """The net trained on half 'A' or 'B' (the latter is baseB)."""
  return base({'A': A_CLASSES, 'B': B_CLASSES}[half])


def arm_config(arm: str, n: int, source: str, per_class: int = 0):
  """A net for B with its first n layers copied from the source run in `source`: arm one of ARMS,
  or 'scratch' (nothing copied)."""
  few = dict(steps=FEW_STEPS, batch=5 * per_class, per_class=per_class) if per_class else {}
  c = base(B_CLASSES, **few)
  if arm == 'scratch':
    return c
  return study.copy_layers(c, LAYERS, n, ARMS[arm][1], source)


def tiny(c):
  """A few steps of a config of this study, for a quick look (and the one-step test)."""
  c.num_steps = 3
  c.ckpt_every = 3
  c.data.batch_size = 8
  c.data.eval_batch_size = 8
  return c


def claim_config(arg: str = ''):
  """What the claims' get_config gives: '' the A source net (the first run of each claim), 'B'
  baseB, 'tiny' a few steps of the former, 'full' the paper-scale pre-training (common.py)."""
  from experiments.transfer import common
  if arg == 'full':
    return common.full_config()
  if arg not in ('', 'B', 'tiny'):
    raise harness.unknown_argument(arg, '', 'B', 'tiny', 'full')
  c = source_config('B' if arg == 'B' else 'A')
  return tiny(c) if arg == 'tiny' else c


NOTE = ('Thresholds from the claim as the Fashion-MNIST study set it (no calibration needed to '
        'state them); a seed-0 calibration run at the recorded commit is still to be made.')


def setting(what: str) -> str:
  """The claims' setting line: the shared protocol, then what this claim reads of it."""
  return (f'Fashion-MNIST halves A = 0-4, B = 5-9 (pixels / 255), CNN transfer4 (3x3 convs '
          f'16-32-32 + max-pool, dense 64, head; L = {len(LAYERS)}), Adam 1e-3, batch {BATCH}, '
          f'{STEPS} steps per net, scored on the 5,000 test images of B; source nets seed '
          f'{SOURCE_SEED} + seed; {what}')


def source(half: str, seed: int, workdir, overrides=()):
  """(test accuracy on its own half, directory with the checkpoint) of the source net."""
  evaluation, where = harness.cached_run(source_config(half), SOURCE_SEED + seed,
                                         epath.Path(workdir) / f'source{half}', overrides)
  return evaluation['accuracy'], str(where)


def arm_accuracy(arm: str, n: int, seed: int, workdir, overrides=(), per_class: int = 0):
  """Test accuracy on B of one arm (its source trained first, or read back)."""
  workdir = epath.Path(workdir)
  src = '' if arm == 'scratch' else source(ARMS[arm][0], seed, workdir, overrides)[1]
  name = arm.replace('+', '_plus') + (f'{n}' if arm != 'scratch' else '')
  name += f'_{per_class}pc' if per_class else ''
  config = arm_config(arm, n, src, per_class)
  return harness.cached_eval(config, seed, workdir / name, overrides)['accuracy']


def base_b(seed: int, workdir, overrides=()) -> float:
  return source('B', seed, workdir, overrides)[0]


def arms(seed: int, workdir, overrides=()) -> dict:
  """Every arm of Figure 2 at n = 1..L, and baseB: {'baseB': acc, 'AnB': [acc at n=1..L], ...}."""
  found = {'baseB': base_b(seed, workdir, overrides)}
  for arm in ARMS:
    found[arm] = [arm_accuracy(arm, n, seed, workdir, overrides)
                  for n in range(1, len(LAYERS) + 1)]
    print(f'    seed {seed}: {arm} ' + ' '.join(f'{a:.4f}' for a in found[arm]), flush=True)
  print(f'    seed {seed}: baseB {found["baseB"]:.4f}', flush=True)
  return found


ARMS_FILE = 'figure2_arms.json'


def write_figure(seed: int, workdir, found: dict) -> epath.Path:
  """Stores this seed's arms in workdir/ARMS_FILE and redraws figure2.png one level up (the
  claim's workdir above its seed<N> folders) from every seed's arms there of this commit."""
  from experiments import provenance
  workdir = epath.Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  here = provenance.commit()
  (workdir / ARMS_FILE).write_text(json.dumps({'seed': seed, 'commit': here, **found}, indent=2))
  runs = [json.loads(p.read_text()) for p in sorted(workdir.parent.glob(f'*/{ARMS_FILE}'))]
  runs = [r for r in runs if r['commit'] == here]
  path = workdir.parent / 'figure2.png'
  draw(runs, path)
  return path


def draw(runs, path):
  """Figure 2 of the paper from our numbers: test accuracy on B against the number of copied
  layers n, each seed's net as a point and the mean over seeds as a line; baseB at n = 0 and as
  a dashed level."""
  import matplotlib
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt
  import numpy as np
  styles = {'BnB': ('tab:blue', 'o'), 'BnB+': ('lightskyblue', 'P'),
            'AnB': ('tab:red', 'D'), 'AnB+': ('lightcoral', 'X')}
  fig, ax = plt.subplots(figsize=(6.5, 4.2))
  base = [r['baseB'] for r in runs]
  ax.scatter([0] * len(base), base, facecolors='white', edgecolors='black', zorder=3,
             label='baseB')
  ax.axhline(np.mean(base), color='gray', ls='--', lw=1)
  ns = np.arange(1, len(LAYERS) + 1)
  for arm, (color, marker) in styles.items():
    values = np.array([r[arm] for r in runs])           # seeds x n
    offset = {'BnB': -0.15, 'BnB+': -0.05, 'AnB': 0.05, 'AnB+': 0.15}[arm]
    for row in values:
      ax.scatter(ns + offset, row, color=color, marker=marker, s=18, alpha=0.6)
    ax.plot(ns, values.mean(0), color=color, marker=marker, label=arm)
  ax.set_xticks(range(len(LAYERS) + 1))
  ax.set_xlabel('layer n at which the net is chopped and retrained (first n copied)')
  ax.set_ylabel('test accuracy on B (classes 5-9)')
  seeds = ', '.join(str(r['seed']) for r in runs)
  ax.set_title(f'Fashion-MNIST A = 0-4, B = 5-9 (seeds {seeds})', fontsize=10)
  ax.legend(fontsize=8, ncol=3)
  ax.grid(alpha=0.3)
  fig.tight_layout()
  fig.savefig(path, dpi=90)
  plt.close(fig)


def few_labels(seed: int, workdir, overrides=()) -> dict:
  """FEW_ARM at n = FEW_N and scratch, both on FEW_LABELS labels per class of B."""
  found = {arm: arm_accuracy(arm, FEW_N, seed, workdir, overrides, FEW_LABELS)
           for arm in (FEW_ARM, 'scratch')}
  print(f'    seed {seed}: {FEW_LABELS} labels per class: {FEW_ARM} (n={FEW_N}) '
        f'{found[FEW_ARM]:.4f}, scratch {found["scratch"]:.4f}', flush=True)
  return found


def few_labels_sweep(seed: int, workdir, overrides=()) -> dict:
  """Every way of using A's net on FEW_LABELS labels per class of B, against scratch: AnB and
  AnB+ at n = 1..L, and AnB+ with its copied layers fine-tuned at each of FEW_LR_MULTIPLIERS
  times the learning rate. {'scratch': acc, 'AnB': [n=1..L], 'AnB+': [...], 'AnB+ lr x0.1': ...}
  (the calibration that chose FEW_ARM and FEW_N: fashion_few_labels.py)."""
  workdir = epath.Path(workdir)
  src = source('A', seed, workdir, overrides)[1]
  found = {'scratch': arm_accuracy('scratch', 0, seed, workdir, overrides, FEW_LABELS)}
  for arm in ('AnB', 'AnB+'):
    found[arm] = [arm_accuracy(arm, n, seed, workdir, overrides, FEW_LABELS)
                  for n in range(1, len(LAYERS) + 1)]
  for m in FEW_LR_MULTIPLIERS:
    row = []
    for n in range(1, len(LAYERS) + 1):
      c = arm_config('AnB+', n, src, FEW_LABELS)
      c.optimizer.lr_multipliers = tuple((p, m) for p in c.init_from.load)
      row.append(harness.cached_eval(c, seed, workdir / f'AnB_plus{n}_lr{m}_{FEW_LABELS}pc',
                                     overrides)['accuracy'])
    found[f'AnB+ lr x{m}'] = row
  for arm, row in found.items():
    if arm != 'scratch':
      print(f'    seed {seed}: {FEW_LABELS} labels per class: {arm} - scratch at n=1..'
            f'{len(LAYERS)}: ' + ' '.join(f'{a - found["scratch"]:+.4f}' for a in row), flush=True)
  print(f'    seed {seed}: scratch {found["scratch"]:.4f}', flush=True)
  return found


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--workdir', default='runs/fashion_figure2')
  parser.add_argument('--seeds', default='0,1,2')
  parser.add_argument('--few-labels-sweep', action='store_true',
                      help='only the few-label calibration sweep (few_labels_sweep), per seed')
  args = parser.parse_args(argv)
  import numpy as np
  if args.few_labels_sweep:
    for seed in (int(s) for s in args.seeds.split(',')):
      found = few_labels_sweep(seed, epath.Path(args.workdir) / f'seed{seed}')
      (epath.Path(args.workdir) / f'seed{seed}' / 'few_labels_sweep.json').write_text(
          json.dumps(found, indent=2))
    return 0
  lines = ['| arm | ' + ' | '.join(f'n={n}' for n in range(1, len(LAYERS) + 1)) + ' |',
           '|---|' + '---|' * len(LAYERS)]
  runs = []
  for seed in (int(s) for s in args.seeds.split(',')):
    wd = epath.Path(args.workdir) / f'seed{seed}'
    found = {**arms(seed, wd), 'few_labels': few_labels(seed, wd)}
    write_figure(seed, wd, found)
    runs.append(found)
  for arm in ARMS:
    values = np.array([r[arm] for r in runs])
    lines.append(f'| {arm} | ' + ' | '.join(f'{m:.4f} ± {s:.4f}' for m, s in zip(
        values.mean(0), values.std(0, ddof=1) if len(runs) > 1 else 0 * values[0])) + ' |')
  lines.append(f'\nbaseB {np.mean([r["baseB"] for r in runs]):.4f}; {FEW_LABELS} labels per '
               f'class: {FEW_ARM} (n={FEW_N}) '
               f'{np.mean([r["few_labels"][FEW_ARM] for r in runs]):.4f}, '
               f'scratch {np.mean([r["few_labels"]["scratch"] for r in runs]):.4f}')
  (epath.Path(args.workdir) / 'figure2.md').write_text('\n'.join(lines) + '\n')
  print('\n'.join(lines))
  print(f'wrote {epath.Path(args.workdir) / "figure2.png"}')
  return 0


if __name__ == '__main__':
  raise SystemExit(main())
