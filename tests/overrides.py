"""How tests change a config: dotted keys set to Python values, or `--config.KEY=VALUE` strings as
a command line gives them."""

from train import config as config_lib


def set_keys(config, **values):
  """Sets each dotted key (`**{'data.batch_size': 8}`) of `config`, locked or not; returns it."""
  with config.unlocked():
    for key, value in values.items():
      *parents, leaf = key.split('.')
      node = config
      for p in parents:
        node = node[p]
      node[leaf] = value
  return config


def load(spec, *overrides):
  """config_lib.load(spec) with `--config.KEY=VALUE` overrides applied."""
  config = config_lib.load(spec)
  config_lib.apply_overrides(config, list(overrides))
  return config
