"""What experiment configs share: one seeded training run, a paired comparison of two configs on
the same seed (with an optional cache of finished runs, and one that keeps a run's checkpoint for
the runs that start from it), and the error of a config's argument
switch. Imports nothing heavy at load: every config imports it, and configs are loaded before
JAX starts."""

ARMS_CACHE = 'runs/cached_arms'   # finished runs every study reads back at the same commit


def unknown_argument(arg: str, *choices: str, note: str = '') -> ValueError:
  """The error of get_config(arg) for an argument it does not take: `raise unknown_argument(arg,
  '', 'tiny', 'full')`. train.config reports it in one line (exit 2)."""
  names = [f'"{c}"' for c in choices]
  listed = ' or '.join([', '.join(names[:-1]), names[-1]] if len(names) > 1 else names)
  return ValueError(f'unknown argument {arg!r}; use {listed}{note}')


def _seeded(config, seed: int, overrides) -> None:
  """`config` with `seed` and the `--config.KEY=VALUE` overrides applied (in place)."""
  from train import config as config_lib
  with config.unlocked():
    config.seed = seed
  config_lib.apply_overrides(config, list(overrides))


def seeded_run(config, seed: int, workdir, overrides=()) -> dict:
  """Trains `config` with `seed` and the `--config.KEY=VALUE` overrides in `workdir` (starting
  over if it holds a run) and returns the run's summary (final `eval` metrics, `state`)."""
  from train import loop
  _seeded(config, seed, overrides)
  return loop.train_and_evaluate(config, workdir, overwrite=True, progress=False)


def cached_eval(config, seed: int, workdir, overrides=(), extra=None) -> dict:
  """seeded_run's final eval metrics, from ARMS_CACHE when a run of the same config was finished
  at this commit. `extra(summary, workdir) -> dict` measures more of the trained run (from the
  summary's `state` or the workdir's checkpoint, e.g. scores on another split): its JSON-able
  values join the eval metrics and are cached with them.

  Comparative claims share arms (a study's default config, same seeds): a finished run of exactly
  the same config (its full JSON, seed included) trained at this same commit is read back instead
  of trained again. The key carries the commit, so code of another commit (or a changed tree,
  which names no code: it is never read back nor stored) trains again; training is deterministic
  given code, config and seed, so this only saves time. Reuse is counted by train.tally, and so
  written into a recorded result.
  """
  return cached_files(config, seed, workdir, overrides, extra)[0]


def cached_files(config, seed: int, workdir, overrides=(), extra=None, keep=()):
  """cached_eval's (metrics, directory): `keep` names files that `extra` wrote into the run's
  workdir (a trained model's weights, say); they are cached with the metrics, and `directory`
  holds them: the cache entry, or `workdir` where nothing is cached (a changed tree). A later
  claim at the same commit then reads the files back instead of training again."""
  import hashlib
  import json
  import shutil
  from etils import epath
  from experiments import provenance
  from train import config as config_lib
  from train import tally
  _seeded(config, seed, overrides)
  here = provenance.reusable_commit()

  def measured():
    summary = seeded_run(config, seed, workdir)
    return {**summary['eval'], **(extra(summary, workdir) if extra else {})}
  if here is None:
    return measured(), epath.Path(workdir)
  measures = f'\n{extra.__module__}.{extra.__qualname__}' if extra else ''   # what is cached
  measures += f'\nkeep {",".join(keep)}' if keep else ''   # (keys without files stay as they were)
  key = hashlib.sha256(f'{here}\n{config_lib.to_json(config)}{measures}'.encode()).hexdigest()[:16]
  cached = epath.Path(ARMS_CACHE) / key / 'summary.json'
  if cached.exists():
    print(f'    (reusing the finished run {cached.parent}, trained at {here})', flush=True)
    tally.reused(cached.parent, here)
    return json.loads(cached.read_text())['eval'], cached.parent
  evaluation = measured()
  cached.parent.mkdir(parents=True, exist_ok=True)
  shutil.copy(epath.Path(workdir) / 'config.json', cached.parent / 'config.json')
  for name in keep:   # before summary.json: an entry with a summary has its files
    shutil.copy(epath.Path(workdir) / name, cached.parent / name)
  (cached.parent / provenance.RUN_COMMIT).write_text(here + '\n')
  summary = json.loads((epath.Path(workdir) / 'summary.json').read_text())
  cached.write_text(json.dumps({**summary, 'eval': evaluation}, indent=2))
  tally.also_at(cached.parent)
  return evaluation, cached.parent


def cached_run(config, seed: int, workdir, overrides=()):
  """(final eval metrics, directory of the finished run) of `config` trained with `seed`: for a run
  that others start from (its checkpoint is their config.init_from.workdir), which cached_eval's
  cache does not keep. At a clean commit the run lies in ARMS_CACHE under a key of the commit and
  the config, so the claims that share it train it once per commit and the runs started from it
  name the same directory (and so the same cached_eval key); a kill midway goes on from its last
  checkpoint (provenance.train_or_reuse). In a changed tree it is trained in `workdir`, read back
  only by the process that trained it."""
  import hashlib
  from etils import epath
  from experiments import provenance
  from train import config as config_lib
  _seeded(config, seed, overrides)
  here = provenance.reusable_commit()
  where = epath.Path(workdir)
  if here is not None:
    key = hashlib.sha256(f'{here}\n{config_lib.to_json(config)}\ncheckpoint'.encode())
    where = epath.Path(ARMS_CACHE) / f'run-{key.hexdigest()[:16]}'
  return provenance.train_or_reuse(config, where)['eval'], where


def compare(config_a, config_b, key: str, seed: int, workdir, overrides=(), names=('a', 'b')):
  """Trains both configs with the same seed (cached_eval); returns metric(a) - metric(b) and
  writes both arms to workdir/arms.json."""
  import json
  from etils import epath
  workdir = epath.Path(workdir)
  a = cached_eval(config_a, seed, workdir / names[0], overrides)[key]
  b = cached_eval(config_b, seed, workdir / names[1], overrides)[key]
  print(f'    seed {seed}: {key} {names[0]} = {a:.4f}, {names[1]} = {b:.4f}', flush=True)
  workdir.mkdir(parents=True, exist_ok=True)   # both arms may have been read back
  (workdir / 'arms.json').write_text(json.dumps({names[0]: a, names[1]: b, 'key': key}))
  return a - b
