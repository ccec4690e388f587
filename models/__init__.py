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
from models import nas_mlp
from models import resnet
from models import rnn
from models import transformer
from models import rbf
from models import som
from train.errors import UserError

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
    'darts': darts,
}


def _row(model_config):
  name, variant = model_config.name, model_config.get('variant', 'tiny')
  if name not in FAMILIES:
    raise UserError(f'unknown model family {name!r}; known: {", ".join(sorted(FAMILIES))}')
  table = FAMILIES[name].VARIANTS
  if variant not in table:
    raise UserError(f'unknown {name} variant {variant!r}; known: {", ".join(table)}')
  return table[variant]


def fields(model_config) -> list[str]:
  """The settable fields of the module that `model_config` names."""
  cls, _ = _row(model_config)
  return sorted({f.name for f in dataclasses.fields(cls)} - {'parent', 'name'})


def build(model_config):
  """Returns the Linen module named by `model_config` (`name`, `variant`, field overrides)."""
  cls, row = _row(model_config)
  kwargs = dict(row)
  allowed = fields(model_config)
  for key, value in model_config.items():
    if key in ('name', 'variant'):
      continue
    if key not in allowed:
      close = difflib.get_close_matches(key, allowed, n=3, cutoff=0.4)
      raise UserError(f'unknown config key model.{key} for {cls.__name__}; nearest valid keys: '
                      + ', '.join('model.' + c for c in (close or allowed)))
    kwargs[key] = tuple(value) if isinstance(value, list) else value
  return cls(**kwargs)
