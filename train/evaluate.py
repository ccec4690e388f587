"""python -m train.evaluate --workdir W [--step N] [--config.KEY=VALUE ...]

Evaluates a run's checkpoint on this process's devices and prints one JSON line,
{"step", "split", "ema", "devices", "eval": {metric: mean}}, also written to W/eval/<step>.json
(a run of members, config.vmap: a list of one mean per member, and "members": who each is).
The run's config.json is the config (overrides such as --config.data.eval_split=train or
--config.eval_ema=True change the evaluation, not the run). The mesh is this process's: the
config's `data` axis takes every device here and its other axes are 1 (a run trained on 8 devices
evaluates on 1; orbax reads each array into the new placement). The eval step is the training
loop's own (loop.Evaluator), compiled with the XLA options the run picked, so it repeats the run's
final evaluation.
"""

import argparse
import json
import os
import sys

from train import cli

HELP = """Evaluate a checkpoint of a run on this process's devices; one JSON line of eval metrics.

examples:
  python -m train.evaluate --workdir runs/cnn
  python -m train.evaluate --workdir runs/cnn --step 500 --config.data.eval_split=train
  python -m train.evaluate --workdir runs/cnn_ema --config.eval_ema=False   # the raw parameters

writes W/eval/<step>.json; exit codes as python -m train's (2: bad input, no such checkpoint)
"""


def parse(argv):
  from train.errors import ArgumentParser
  parser = ArgumentParser(prog='python -m train.evaluate', description=HELP,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--workdir', required=True,
                      help="a run's workdir (config.json, checkpoints/)")
  parser.add_argument('--step', type=int, default=None, help='the checkpoint (default: the newest)')
  args, rest = parser.parse_known_args(argv)
  if args.step is not None and args.step < 0:
    parser.error(f'--step must be a saved step (0 or more), got {args.step}')
  return args, cli.config_overrides(parser, rest)


def saved_config(workdir, overrides=()):
  """The run's config.json with this process's mesh, then `overrides`, validated."""
  from etils import epath
  from train import config as config_lib
  from train.errors import UserError
  path = epath.Path(workdir) / 'config.json'
  if not path.exists():
    raise UserError(f'--workdir {workdir} holds no run (no config.json there)')
  try:
    config = config_lib.from_saved(json.loads(path.read_text()))
  except ValueError as e:
    raise UserError(f'{path} is not a config written by python -m train: {e}') from None
  config.mesh = {axis: -1 if axis == 'data' else 1 for axis in config.mesh}
  config_lib.apply_overrides(config, list(overrides))
  config_lib.validate(config)
  return config


def restore(workdir, step=None, overrides=(), devices=None):
  """(config, run, pipeline, step, state): a run's checkpoint restored onto `devices` (default:
  all of this process's) with the shardings this config gives there."""
  import jax
  from etils import epath
  from train import checkpoint
  from train import data
  from train import loop
  from train import members
  from train import sharding as sharding_lib
  from train.errors import UserError
  config = saved_config(workdir, overrides)
  loop.prepare_host(config)
  mesh = sharding_lib.make_mesh(config.mesh, devices, members=members.count(config))
  pipeline = members.stack(config, data.make_pipeline(config, sharding_lib.example_sharding(mesh)))
  first = data.global_batch(pipeline.train_batch(0), sharding_lib.batch_sharding(mesh))
  run = loop.build(config, mesh, first)
  target = jax.tree.map(lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s),
                        run.abstract_state, run.state_sharding)
  try:
    step, state, _ = checkpoint.restore(epath.Path(workdir) / 'checkpoints', target, step)
  except FileNotFoundError as e:
    raise UserError(str(e)) from None
  except (ValueError, KeyError) as e:   # shapes or structure of another config
    raise UserError(f'checkpoint step {step} in {workdir} does not fit its config with these '
                    f'overrides: {str(e).splitlines()[0][:200]}') from None
  # The run's eval step was compiled with the XLA options its train step picked: pick them alike.
  run.pick_compiler_options(run.lowered_train_step(target, first))
  return config, run, pipeline, step, state


def evaluate(workdir, step=None, overrides=(), devices=None) -> dict:
  """Evaluates a checkpoint and writes W/eval/<step>.json; returns the record printed."""
  import jax
  from etils import epath
  from train import atomic
  from train import loop
  from train import members
  config, run, pipeline, step, state = restore(workdir, step, overrides, devices)
  metrics = loop.Evaluator(config, run, pipeline)(loop.with_eval_params(config, state))
  record = {'step': int(step), 'split': config.data.eval_split, 'ema': bool(config.eval_ema),
            'devices': run.batch_sharding.mesh.size, 'eval': metrics}
  if members.count(config):   # a run of members: a list per metric, and who each member is
    record['members'] = members.specs(config)
  if jax.process_index() == 0:
    directory = epath.Path(workdir) / 'eval'
    directory.mkdir(parents=True, exist_ok=True)
    atomic.write(directory / f'{int(step)}.json', json.dumps(record, indent=2))
  return record


def main(argv=None):
  args, overrides = parse(sys.argv[1:] if argv is None else argv)
  cli.configure_logging()

  def body():
    record = evaluate(args.workdir, args.step, overrides)
    print(json.dumps(record), flush=True)
  return cli.run_guarded(body, args.workdir)


if __name__ == '__main__':
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  cli.exit_fast(main())
