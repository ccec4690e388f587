"""python -m train.export --workdir W --out FILE.npz [--step N] [--config.eval_ema=True]

Writes a checkpoint's model variables as flat named arrays: one array per leaf, named by its path
in flax's variables ('params/Conv_0/kernel', 'batch_stats/BatchNorm_0/mean'), in an uncompressed
.npz that `np.load(FILE, allow_pickle=False)` reads (no pickle, no nnzoo, no JAX needed to read
it). The parameters are those the run's evaluation sees: with config.eval_ema their moving
average. The checkpoint is restored as train.evaluate restores it (the run's config.json and
data set give the shapes; any devices).
"""

import argparse
import os
import sys

from train import cli

HELP = """Export a checkpoint's parameters (and batch-norm statistics) as a .npz of named arrays.

examples:
  python -m train.export --workdir runs/cnn --out cnn.npz
  python -c "import numpy as np; print(dict(np.load('cnn.npz', allow_pickle=False)).keys())"
"""


def parse(argv):
  from train.errors import ArgumentParser
  parser = ArgumentParser(prog='python -m train.export', description=HELP,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--workdir', required=True,
                      help="a run's workdir (config.json, checkpoints/)")
  parser.add_argument('--out', required=True, metavar='FILE.npz', help='the file to write')
  parser.add_argument('--step', type=int, default=None, help='the checkpoint (default: the newest)')
  args, rest = parser.parse_known_args(argv)
  if not args.out.endswith('.npz'):
    parser.error(f'--out {args.out!r} must name a .npz file')
  if args.step is not None and args.step < 0:
    parser.error(f'--step must be a saved step (0 or more), got {args.step}')
  return args, cli.config_overrides(parser, rest)


def named_arrays(state) -> dict:
  """{'params/...': array, '<collection>/...': array} of a train state's model variables."""
  import jax
  import numpy as np
  from train.sharding import path_str
  variables = {'params': state.params, **dict(state.model_state)}
  return {path_str(path): np.asarray(leaf) for path, leaf in
          jax.tree_util.tree_leaves_with_path(jax.device_get(variables))}


def export(workdir, out, step=None, overrides=()) -> dict:
  """Writes `out` and returns {'step', 'out', 'arrays'}."""
  import io
  import numpy as np
  from etils import epath
  from train import atomic
  from train import loop
  from train.errors import UserError
  from train.evaluate import restore
  if not epath.Path(out).parent.is_dir():
    raise UserError(f'--out {out}: directory {epath.Path(out).parent} does not exist')
  config, _, _, step, state = restore(workdir, step, overrides)
  arrays = named_arrays(loop.with_eval_params(config, state))
  buffer = io.BytesIO()
  np.savez(buffer, **arrays)
  atomic.write(epath.Path(out), buffer.getvalue())
  return {'step': int(step), 'out': str(out), 'arrays': len(arrays)}


def main(argv=None):
  args, overrides = parse(sys.argv[1:] if argv is None else argv)
  cli.configure_logging()

  def body():
    import json
    print(json.dumps(export(args.workdir, args.out, args.step, overrides)), flush=True)
  return cli.run_guarded(body, args.out)


if __name__ == '__main__':
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  cli.exit_fast(main())
