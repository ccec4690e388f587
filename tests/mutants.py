"""python -m tests.mutants [--all | --rotate N | --only NAME ...] [--baseline] [--list]

Planted bugs: each mutant is ONE line of the engine changed the way a real bug would change it.
For each, the repository is copied to a temporary directory, the line is replaced there (the
target must occur exactly once, or the harness stops: the engine moved and the mutant must be
rewritten, not silently skipped), and the tests named for it run against the copy (PYTHONPATH and
working directory set to it). They must FAIL: a test that still passes with the bug in place does
not check what it claims. Prints the table mutant -> tests -> caught, and exits 1 if any mutant
survived or a target was not found.

--rotate N runs one group of N mutants (in list order), the group chosen by the commit hash (git
HEAD, or $NNZOO_COMMIT): CI checks a few per commit and all of them within a few commits.
--baseline first runs every selected mutant's tests on the unchanged copy (they must pass).
A test helper, not part of the engine.
"""

import argparse
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time

from tests import rotation as rotation_lib

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MATRIX = 'tests/test_resume_matrix.py::test_resume_is_bit_for_bit'
FAULT = 'tests/test_faults.py::test_fault_loses_nothing'


@dataclasses.dataclass(frozen=True)
class Mutant:
  name: str
  path: str          # file in the repository
  old: str           # exact text, found exactly once
  new: str           # what replaces it (one line)
  tests: tuple       # pytest node ids that must fail with the mutant in place


RESTORED = '    state, meta = restored\n'

MUTANTS = [
    Mutant('dropout key re-derived on resume (not the checkpointed one)', 'train/loop.py',
           RESTORED,
           '    state, meta = restored[0].replace(rng=jax.random.fold_in(restored[0].rng, '
           'restored[0].step)), restored[1]\n',
           (f'{MATRIX}[classification_dropout_bn_warmup_cosine_evals]',)),
    Mutant('dropout key not folded with the step', 'train/objectives/loss.py',
           '    rng = jax.random.fold_in(state.rng, state.step)\n',
           '    rng = state.rng\n',
           ('tests/test_resume_matrix.py::test_dropout_masks_follow_the_step',)),
    Mutant('restore without model_state (batch norm, RBF sums)', 'train/loop.py', RESTORED,
           '    state, meta = restored[0].replace(model_state=run.init(first).model_state), '
           'restored[1]\n',
           (f'{MATRIX}[rbf_running_sums]',
            f'{MATRIX}[classification_dropout_bn_warmup_cosine_evals]')),
    Mutant('schedule step off by one after resume', 'train/loop.py', RESTORED,
           '    state, meta = restored[0].replace(opt_state=jax.tree.map(lambda x: x + 1 if '
           'x.dtype == jnp.int32 else x, restored[0].opt_state)), restored[1]\n',
           (f'{MATRIX}[classification_dropout_bn_warmup_cosine_evals]',)),
    Mutant('NaN update applied in skip mode', 'train/loop.py',
           '    kept = jax.tree.map(lambda n, o: jnp.where(ok, n, o), new, state)\n',
           '    kept = new\n',
           (f'{FAULT}[nonfinite_loss]',)),
    Mutant('last partial eval batch dropped', 'train/data.py',
           '    for b in range(math.ceil(n / g)):\n',
           '    for b in range(n // g):\n',
           ('tests/test_data.py::test_eval_batches_cover_every_example_once_with_mask',)),
    Mutant('eval mask counts a padding example', 'train/data.py',
           '      mask = (idx < n).astype(np.float32)\n',
           '      mask = (idx <= n).astype(np.float32)\n',
           ('tests/test_data.py::test_eval_batches_cover_every_example_once_with_mask',)),
    Mutant('data order reused across epochs', 'train/data.py',
           '        seed = [self.shuffle_seed, epoch] + ([stream] if stream else [])\n',
           '        seed = [self.shuffle_seed, 0] + ([stream] if stream else [])\n',
           ('tests/test_data.py::test_train_order_is_deterministic_and_reshuffled_each_epoch',)),
    Mutant('eval moves the data position', 'train/loop.py',
           '        last_eval = evaluate(shown(state))\n',
           '        last_eval = evaluate(shown(state)); next(batches, None)\n',
           (f'{MATRIX}[classification_dropout_bn_warmup_cosine_evals]',)),
    Mutant("GAN's optimizer states swapped", 'train/objectives/gan.py',
           "    new = state.replace(step=state.step + 1, params=params, opt_state={'g': opt_g, "
           "'d': opt_d},\n",
           "    new = state.replace(step=state.step + 1, params=params, opt_state={'g': opt_d, "
           "'d': opt_g},\n",
           ('tests/test_gan.py::test_one_step_updates_generator_and_discriminator',)),
    Mutant("GAN's discriminator optimizer state lost", 'train/objectives/gan.py',
           "    new = state.replace(step=state.step + 1, params=params, opt_state={'g': opt_g, "
           "'d': opt_d},\n",
           "    new = state.replace(step=state.step + 1, params=params, opt_state={'g': opt_g, "
           "'d': state.opt_state['d']},\n",
           (f'{MATRIX}[gan_two_optimizers]',)),
    Mutant("DARTS' alpha optimizer state lost", 'train/objectives/darts.py',
           "                        opt_state={'w': opt_w, 'alpha': opt_alpha}, "
           "model_state=model_state)\n",
           "                        opt_state={'w': opt_w, 'alpha': state.opt_state['alpha']}, "
           "model_state=model_state)\n",
           (f'{MATRIX}[darts_two_optimizers]',)),
    Mutant('RBF running sums lost between batches', 'train/objectives/rbf.py',
           "    old = jax.tree.map(lambda a: jnp.where(first, jnp.zeros_like(a), a), "
           "state.model_state['fit'])\n",
           "    old = jax.tree.map(jnp.zeros_like, state.model_state['fit'])\n",
           ('tests/test_rbf.py::test_normal_equations_summed_over_batches_equal_one_solve',)),
    Mutant('SOM schedule ends one step late', 'train/objectives/som.py',
           '    t = step.astype(jnp.float32) / max(self.num_steps - 1, 1)\n',
           '    t = step.astype(jnp.float32) / max(self.num_steps, 1)\n',
           ('tests/test_som.py::test_quantization_error_falls_without_a_gradient',)),
    Mutant('optimizer state not sharded under FSDP', 'train/sharding.py',
           '    if sharding_config.fsdp:\n',
           "    if sharding_config.fsdp and name.startswith('params'):\n",
           ('tests/test_engine.py::test_fsdp_shards_every_large_leaf_of_the_state',)),
    Mutant('exit 0 on a full disk', 'train/cli.py',
           '    os._exit(4)',
           '    os._exit(0)',
           (f'{FAULT}[disk_full_while_saving]',)),
]


class TargetNotFound(Exception):
  pass


def copy_repo(dest):
  ignore = shutil.ignore_patterns('.git', '.venv', 'runs', '__pycache__', '*.pyc', '.pytest_cache')
  shutil.copytree(REPO, dest, ignore=ignore, symlinks=True)
  return dest


def apply(mutant, root):
  path = os.path.join(root, mutant.path)
  with open(path) as f:
    text = f.read()
  found = text.count(mutant.old)
  if found != 1:
    raise TargetNotFound(f'{mutant.path}: the target of "{mutant.name}" occurs {found} times '
                         f'(must be once): {mutant.old.strip()!r}; rewrite the mutant')
  with open(path, 'w') as f:
    f.write(text.replace(mutant.old, mutant.new))


def run_tests(root, tests, timeout):
  env = dict(os.environ, PYTHONPATH=root, PYTHONDONTWRITEBYTECODE='1')
  cmd = [sys.executable, '-m', 'pytest', '-m', 'slow or not slow', '-x', '-q',
         '-p', 'no:cacheprovider', *tests]
  t0 = time.time()
  try:
    r = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=timeout)
  except subprocess.TimeoutExpired:
    return 'timeout', time.time() - t0, ''
  return r.returncode, time.time() - t0, (r.stdout + r.stderr)[-3000:]


def check_imports_from(root):
  env = dict(os.environ, PYTHONPATH=root)
  out = subprocess.run([sys.executable, '-c', 'import train, models; print(train.__file__, '
                        'models.__file__)'], cwd=root, env=env, capture_output=True, text=True,
                       check=True).stdout
  if not all(p.startswith(os.path.realpath(root)) or p.startswith(root) for p in out.split()):
    raise RuntimeError(f'the copy is not what the tests import: {out}')


def rotation(n):
  """The group of n mutants that this commit checks: groups are consecutive in MUTANTS."""
  groups = [MUTANTS[i:i + n] for i in range(0, len(MUTANTS), n)]
  index = rotation_lib.pick(groups)
  return index, len(groups), groups[index]


def main(argv=None):
  p = argparse.ArgumentParser(prog='python -m tests.mutants')
  p.add_argument('--all', action='store_true')
  p.add_argument('--rotate', type=int, default=0, metavar='N')
  p.add_argument('--only', nargs='+', default=(), metavar='NAME', help='mutants whose name '
                 'contains NAME')
  p.add_argument('--baseline', action='store_true')
  p.add_argument('--list', action='store_true')
  p.add_argument('--timeout', type=int, default=900)
  args = p.parse_args(argv)
  if args.list:
    for m in MUTANTS:
      print(f'{m.name}: {m.path} -> {", ".join(m.tests)}')
    return 0
  # Every target is checked before anything runs, selected or not: a stale mutant fails now.
  with tempfile.TemporaryDirectory(prefix='nnzoo-mutants-') as scratch:
    pristine = copy_repo(os.path.join(scratch, 'pristine'))
    bad = []
    for m in MUTANTS:
      probe = os.path.join(scratch, 'probe')
      shutil.rmtree(probe, ignore_errors=True)
      os.makedirs(os.path.dirname(os.path.join(probe, m.path)))
      shutil.copy(os.path.join(pristine, m.path), os.path.join(probe, m.path))
      try:
        apply(m, probe)
      except TargetNotFound as e:
        bad.append(str(e))
    if bad:
      print('\n'.join(bad), file=sys.stderr)
      return 1
    if args.only:
      chosen = [m for m in MUTANTS if any(s in m.name for s in args.only)]
    elif args.rotate:
      index, count, chosen = rotation(args.rotate)
      print(f'rotation: group {index + 1} of {count} (commit {rotation_lib.commit_hash()[:12]})')
    else:
      chosen = MUTANTS
    check_imports_from(pristine)
    if args.baseline:
      tests = sorted({t for m in chosen for t in m.tests})
      rc, took, out = run_tests(pristine, tests, args.timeout)
      print(f'baseline: {len(tests)} tests on the unchanged copy: exit {rc} ({took:.0f} s)',
            flush=True)
      if rc != 0:
        print(out, file=sys.stderr)
        return 1
    rows = []
    for m in chosen:
      root = copy_repo(os.path.join(scratch, 'mutant'))
      apply(m, root)
      rc, took, out = run_tests(root, m.tests, args.timeout)
      # pytest exits 1 when a test failed; 2-5 (interrupted, internal error, usage, nothing
      # collected) and a timeout say nothing about the test and count as not caught.
      caught = rc == 1
      rows.append((m.name, ', '.join(t.split('::')[-1] for t in m.tests),
                   'caught' if caught else f'SURVIVED (exit {rc})', f'{took:.0f}s'))
      print(f'  {m.name}: {rows[-1][2]} ({rows[-1][3]})', flush=True)
      if not caught:
        print(out, file=sys.stderr)
      shutil.rmtree(root)
  widths = [max(len(r[i]) for r in rows) for i in range(3)] if rows else [0, 0, 0]
  print()
  print(f'{"mutant":<{widths[0]}}  {"test":<{widths[1]}}  {"result":<{widths[2]}}  time')
  for r in rows:
    print(f'{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}')
  survived = sum(not r[2].startswith('caught') for r in rows)
  print(f'\n{len(rows) - survived} of {len(rows)} mutants caught')
  return 1 if survived else 0


if __name__ == '__main__':
  sys.exit(main())
