"""Declared objective arguments: each objective class lists the `config.objective_args` it reads
in `ARGS` (name -> Arg(default, kind)); a subclass adds to its bases' and may redeclare one.

`resolve` checks a config's objective_args against that list (an unknown key is an error that
names the nearest declared ones, as model keys are) and fills in every default, so config.json
states the values a run used. A default that follows from other values (a SOM's radius from its
grid) is a function of the arguments resolved before it and of the model.
"""

import dataclasses
from typing import Any

import ml_collections

from train.errors import UserError


@dataclasses.dataclass(frozen=True)
class Arg:
  default: Any   # the value, or a function (args, model) -> value
  kind: type     # float (takes an int too), int, str, bool, tuple (takes a list), or object: any


def declared(cls) -> dict[str, Arg]:
  """The arguments objective class `cls` reads, its own and its bases', in declaration order."""
  out = {}
  for klass in reversed(cls.__mro__):
    out.update(vars(klass).get('ARGS', {}))
  return out


def _fits(value, kind) -> bool:
  if kind is object:
    return True
  if kind is float:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
  if kind is int:
    return isinstance(value, int) and not isinstance(value, bool)
  if kind is tuple:
    return isinstance(value, (tuple, list))
  return isinstance(value, kind)


def resolve(config, cls, model) -> ml_collections.ConfigDict:
  """Fills `config.objective_args` in place with the defaults of the arguments `cls` declares and
  returns it; unknown keys and values of the wrong kind are UserErrors naming the key."""
  from train import config as config_lib
  args = declared(cls)
  given = config.objective_args
  for key in given.keys():
    if key not in args:
      close = config_lib.nearest(f'objective_args.{key}', [f'objective_args.{k}' for k in args])
      raise UserError(f'unknown config key objective_args.{key} for objective {config.objective}; '
                      f'nearest valid keys: {close}')
  with config.unlocked():
    for key, arg in args.items():
      if key not in given:
        given[key] = arg.default(given, model) if callable(arg.default) else arg.default
      value = given[key]
      if not _fits(value, arg.kind):
        raise UserError(f'config.objective_args.{key}={value!r}: expects '
                        f'{"a number" if arg.kind is float else arg.kind.__name__}')
  return given
