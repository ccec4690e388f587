"""Yosinski et al. 2014 on the 8x8 digits: pre-train on classes 0-4, transfer the first n layers
to classes 5-9 with few labels, frozen (AnB) or fine-tuned (AnB+), against training from scratch.

Every run is an ordinary `train.loop.train_and_evaluate` of the configs below; the pre-trained run
of a seed is shared by all transfers of that seed. `python -m experiments.transfer.study` runs the
whole grid and writes a table (JSON + Markdown) and a plot into the workdir.
"""

import argparse
import json

from etils import epath

from experiments import provenance
from train import config as config_lib

# The task: 'digits' is scikit-learn's 8x8 digits; 'shifted' the same digits upsampled to 12x12
# and placed on a 16x16 canvas at a random shift of up to 2 pixels (train/datasets/affine_digits.py,
# evaluated on its shifted test split), a harder target for few labels.
TASKS = {'digits': 'nnzoo_digits', 'shifted': 'nnzoo_affine_digits'}
SOURCE_CLASSES = (0, 1, 2, 3, 4)
TARGET_CLASSES = (5, 6, 7, 8, 9)
HIDDEN = (64, 64, 64)          # Dense_0..Dense_2; Dense_3 is the head


def base(seed: int, task: str = 'digits'):
  c = config_lib.base_config()
  c.seed = seed
  c.model.name, c.model.variant = 'mlp', 'tiny'
  with c.model.unlocked():
    c.model.hidden = HIDDEN
    c.model.num_classes = 5
  c.data.name = TASKS[task]
  c.optimizer.name, c.optimizer.learning_rate = 'adam', 1e-3
  c.plots = False
  c.eval_every = 0
  c.log_every = 100
  return c


def pretrain_config(seed: int, task: str = 'digits'):
  c = base(seed, task)
  c.data.classes = SOURCE_CLASSES
  c.data.batch_size = 64
  c.num_steps = 1500
  c.ckpt_every = 1500
  return c


def target_config(seed: int, layers: int, mode: str, per_class: int, source: str = '',
                  task: str = 'digits'):
  """mode: 'scratch', 'frozen' (first `layers` copied and frozen) or 'finetune'
  (copied, trained)."""
  c = base(seed, task)
  c.data.classes = TARGET_CLASSES
  c.data.per_class = per_class
  c.data.batch_size = 40
  c.num_steps = 600
  c.ckpt_every = 600
  return copy_layers(c, tuple(f'Dense_{i}' for i in range(len(HIDDEN))), layers, mode, source)


def copy_layers(c, layers, n: int, mode: str, source: str):
  """`c` with the first `n` of `layers` (parameter prefixes such as 'Conv_0', input side first)
  loaded from the run in `source`: mode 'frozen' keeps them fixed, 'finetune' trains them on,
  'scratch' loads nothing. The other layers (the head among them) start fresh."""
  if mode not in ('scratch', 'frozen', 'finetune'):
    raise ValueError(f'mode {mode!r}: use scratch, frozen or finetune')
  if not 0 <= n <= len(layers):
    raise ValueError(f'{n} copied layers: the net has {len(layers)} ({", ".join(layers)})')
  if mode != 'scratch':
    copied = tuple(f'^{name}/' for name in layers[:n])
    c.init_from.workdir = source
    c.init_from.load = copied
    if mode == 'frozen':
      c.optimizer.freeze = copied
  return c


def _run(config, workdir):
  return provenance.train_or_reuse(config, workdir)['eval']['accuracy']


def accuracy(seed, layers, mode, per_class, workdir, task='digits', target_seed=None) -> float:
  """Test accuracy on the target classes; the source network is pre-trained with `seed`, the
  target network with `target_seed` (default: the same)."""
  root = epath.Path(workdir) if task == 'digits' else epath.Path(workdir) / task
  source = root / f'pretrain_seed{seed}'
  if mode != 'scratch':
    _run(pretrain_config(seed, task), source)
  target_seed = seed if target_seed is None else target_seed
  name = f'{mode}{layers if mode != "scratch" else ""}_{per_class}pc_seed{seed}'
  name += '' if target_seed == seed else f'_target{target_seed}'
  return _run(target_config(target_seed, layers, mode, per_class, str(source), task), root / name)


def grid(workdir, seeds=(0, 1, 2), per_class=(10, 50), layers=(1, 2, 3), task='digits'):
  rows = []
  for pc in per_class:
    for seed in seeds:
      rows.append(dict(per_class=pc, seed=seed, mode='scratch', layers=0,
                       accuracy=accuracy(seed, 0, 'scratch', pc, workdir, task)))
      for n in layers:
        for mode in ('frozen', 'finetune'):
          rows.append(dict(per_class=pc, seed=seed, mode=mode, layers=n,
                           accuracy=accuracy(seed, n, mode, pc, workdir, task)))
      print(f'  {pc} labels/class, seed {seed}: done', flush=True)
  return rows


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__)
  parser.add_argument('--workdir', default='runs/transfer_study')
  parser.add_argument('--seeds', default='0,1,2')
  parser.add_argument('--per_class', default='10,50', help='labels per class, comma-separated')
  parser.add_argument('--task', default='digits', choices=sorted(TASKS))
  args = parser.parse_args(argv)
  rows = grid(args.workdir, tuple(int(s) for s in args.seeds.split(',')),
              tuple(int(s) for s in args.per_class.split(',')), task=args.task)
  out = epath.Path(args.workdir) / ('' if args.task == 'digits' else args.task)
  (out / 'grid.json').write_text(json.dumps(rows, indent=2))
  import numpy as np
  lines = ['| labels/class | setting | accuracy (mean ± std) |', '|---|---|---|']
  groups = {}
  for r in rows:
    groups.setdefault((r['per_class'], r['mode'], r['layers']), []).append(r['accuracy'])
  for (pc, mode, n), accs in sorted(groups.items()):
    label = 'scratch' if mode == 'scratch' else f'{mode}, first {n} layers'
    lines.append(f'| {pc} | {label} | {np.mean(accs):.4f} ± '
                 f'{np.std(accs, ddof=1) if len(accs) > 1 else 0:.4f} |')
  (out / 'grid.md').write_text('\n'.join(lines) + '\n')
  print('\n'.join(lines))
  _plot(groups, out / 'transfer.png')
  return 0


def _plot(groups, path):
  import matplotlib
  matplotlib.use('Agg')
  import matplotlib.pyplot as plt
  import numpy as np
  pcs = sorted({k[0] for k in groups})
  fig, axes = plt.subplots(1, len(pcs), figsize=(5 * len(pcs), 3.5), squeeze=False)
  for ax, pc in zip(axes[0], pcs):
    scratch = groups.get((pc, 'scratch', 0), [])
    ax.axhline(np.mean(scratch), color='gray', ls='--', label='scratch')
    for mode, style in (('frozen', 'o-'), ('finetune', 's-')):
      ns = sorted(k[2] for k in groups if k[0] == pc and k[1] == mode)
      means = [np.mean(groups[(pc, mode, n)]) for n in ns]
      stds = [np.std(groups[(pc, mode, n)]) for n in ns]
      ax.errorbar(ns, means, yerr=stds, fmt=style, label=mode, capsize=3)
    ax.set_title(f'{pc} labels per class (classes 5-9)')
    ax.set_xlabel('layers transferred from digits 0-4')
    ax.set_ylabel('test accuracy')
    ax.legend()
    ax.grid(alpha=0.3)
  fig.tight_layout()
  fig.savefig(path, dpi=90)
  plt.close(fig)


if __name__ == '__main__':
  raise SystemExit(main())
