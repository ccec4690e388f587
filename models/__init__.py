"""The zoo: pure Flax Linen modules, one file per family.

Each family file ends with `VARIANTS`: name -> (module class, fields), citing the paper each row
comes from, and always holding a `tiny` row for tests. `build(config.model)` picks a row by
`config.model.variant` and lets the config override single fields.
"""

import dataclasses
import difflib

from models import autoencoder
from models import capsnet
from models import cnn
from models import darts
from models import gan
from models import matrix_capsules
from models import mlp
from models import nas_cnn
from models import nas_mlp
from models import resnet
from models import rnn
from models import transformer
from models import rbf
from models import som

FAMILIES = {
    'mlp': mlp,
    'cnn': cnn,
    'resnet': resnet,
    'rnn': rnn,
    'transformer': transformer,
    'autoencoder': autoencoder,
    'som': som,
    'rbf': rbf,
    'gan': gan,
    'capsnet': capsnet,
    'matrix_capsules': matrix_capsules,
    'nas_mlp': nas_mlp,
    'nas_cnn': nas_cnn,
    'darts': darts,
}


class ConfigError(ValueError):
  """A model config that names a family, variant or field that does not exist, or a field value
  no model takes. The engine reports it as its own one-line user error (exit 2); a model imports
  nothing of the engine, so the type is its own."""


def _row(model_config):
  name, variant = model_config.name, model_config.get('variant', 'tiny')
  if name not in FAMILIES:
    raise ConfigError(f'unknown model family {name!r}; known: {", ".join(sorted(FAMILIES))}')
  table = FAMILIES[name].VARIANTS
  if variant not in table:
    raise ConfigError(f'unknown {name} variant {variant!r}; known: {", ".join(table)}')
  return table[variant]


def fields(model_config) -> list[str]:
  """The settable fields of the module that `model_config` names."""
  cls, _ = _row(model_config)
  return sorted({f.name for f in dataclasses.fields(cls)} - {'parent', 'name'})


# No field of any model here is a number this large (widths, kernels, lengths, vocabularies, class
# counts): a larger one is a typo, and some (a kernel) would have the module loop over it in
# Python for ever before any memory check could see the state's size.
MAX_FIELD = 2 ** 24


# Compute dtypes of `model.dtype` (mixed precision: parameters, optimizer state and losses stay
# float32 whatever it is).
DTYPES = ('float32', 'bfloat16')


def build(model_config):
  """Returns the Linen module named by `model_config` (`name`, `variant`, field overrides)."""
  cls, row = _row(model_config)
  kwargs = dict(row)
  allowed = fields(model_config)
  for key, value in model_config.items():
    if key in ('name', 'variant'):
      continue
    if key == 'dtype':
      check_dtype(value)
    if key not in allowed:
      close = difflib.get_close_matches(key, allowed, n=3, cutoff=0.4)
      raise ConfigError(f'unknown config key model.{key} for {cls.__name__}; nearest valid '
                        'keys: ' + ', '.join('model.' + c for c in (close or allowed)))
    big = _too_large(value)
    if big is not None:
      raise ConfigError(f'config.model.{key}={value!r}: {big} is larger than any model field '
                        f'takes (up to 2**24)')
    kwargs[key] = tuple(value) if isinstance(value, list) else value
  return cls(**kwargs)


def check_dtype(value) -> None:
  """Raises ConfigError unless `value` is one of DTYPES (every family computes in each)."""
  if value not in DTYPES:
    raise ConfigError(f'config.model.dtype={value!r} is not one of {", ".join(DTYPES)}')


def _too_large(value):
  """The first integer in `value` (a number or nested tuples) beyond MAX_FIELD, else None."""
  if isinstance(value, int) and not isinstance(value, bool):
    return value if abs(value) > MAX_FIELD else None
  if isinstance(value, (tuple, list)):
    for v in value:
      big = _too_large(v)
      if big is not None:
        return big
  return None
