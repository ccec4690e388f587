"""Dependencies point one way: models <- train <- launch <- experiments. A model imports nothing of
ours, the engine imports models only, the launchers the engine and models; experiments may
import all. Every import statement counts, at the top of a module or inside a function, and so
does importlib.import_module or __import__ with a literal name."""

import ast
import os
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
LAYERS = ('models', 'train', 'launch', 'experiments')   # each may import those before it


def imported_names(source: str, path: str):
  """(line, dotted module name) of every import in `source`, the module living at `path`
  (relative to the repository root); relative imports resolved against its package."""
  package = pathlib.PurePosixPath(path).parent.parts
  for node in ast.walk(ast.parse(source, path)):
    if isinstance(node, ast.Import):
      for alias in node.names:
        yield node.lineno, alias.name
    elif isinstance(node, ast.ImportFrom):   # `from a.b import c`: a.b.c (c may be a name in it)
      base = package[:max(0, len(package) - node.level + 1)] if node.level else ()
      module = base + (tuple(node.module.split('.')) if node.module else ())
      for alias in node.names:
        yield node.lineno, '.'.join(module + (alias.name,))
    elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
          and isinstance(node.args[0].value, str)
          and getattr(node.func, 'attr', getattr(node.func, 'id', None)) in ('import_module',
                                                                               '__import__')):
      yield node.lineno, node.args[0].value


def upward_imports(source: str, path: str) -> list[str]:
  """'path:line imports NAME' for each import in `source` of a layer above the module's own."""
  layer = pathlib.PurePosixPath(path).parts[0]
  if layer not in LAYERS:
    return []
  found = []
  for line, name in imported_names(source, path):
    target = name.split('.')[0]
    if target in LAYERS and LAYERS.index(target) > LAYERS.index(layer):
      found.append(f'{path}:{line} imports {name} ({layer} may import only '
                   f'{", ".join(LAYERS[:LAYERS.index(layer) + 1])})')
  return found


def check_tree(root) -> list[str]:
  root = pathlib.Path(root)
  found = []
  for layer in LAYERS:
    for file in sorted((root / layer).rglob('*.py')):
      path = file.relative_to(root).as_posix()
      found += upward_imports(file.read_text(), path)
  return found


def test_imports_point_one_way():
  found = check_tree(ROOT)
  assert not found, '\n'.join(found)


def test_the_check_finds_a_planted_upward_import(tmp_path):
  """The walk sees function-local imports, relative ones and import_module calls in a tree on
  disk, and passes imports that point down or outside our layers."""
  planted = {
      'models/mlp.py': 'import jax\nfrom models import cnn\n\n\ndef f():\n  import train.errors\n',
      'train/bench.py': ('from models import mlp\n\n\ndef record():\n'
                         '  from experiments import report\n'),
      'train/objectives/x.py': 'from ... import launch\n',
      'launch/aot.py': 'import importlib\nimportlib.import_module("experiments.report")\n',
      'experiments/report.py': 'from launch import aot\nfrom train import loop\nimport models\n',
  }
  for path, source in planted.items():
    os.makedirs(tmp_path / os.path.dirname(path), exist_ok=True)
    (tmp_path / path).write_text(source)
  found = check_tree(tmp_path)
  assert [f.split(' (')[0] for f in found] == [
      'models/mlp.py:6 imports train.errors',
      'train/bench.py:5 imports experiments.report',
      'train/objectives/x.py:1 imports launch',
      'launch/aot.py:2 imports experiments.report',
  ], found
