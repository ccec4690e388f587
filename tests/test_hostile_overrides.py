"""No traceback for bad input, anywhere: a seeded fuzz of hostile config overrides.

Across the experiment configs (each at its `tiny` argument), draws one valid key at a time and
gives it a hostile value — the wrong type, zero, negative, huge, empty, NaN/Inf, a tuple where a
scalar goes, None, an unknown or absent data set, a missing checkpoint in `init_from` — with the
run capped at 2 steps (`--stop_after=2`), and asserts: exit code 0, 2, 3 or 4; at most 3 lines on
stderr besides progress bars; no traceback; and, when 0, a workdir that resumes (the same command
again goes on to step 3). An absent data set fails in seconds, never after a network time-out.
Then the same for bad command lines of `python -m train`, `experiments.reproduce` and
`train.bench`; `launch.aot` and `launch.local` are a test of their own below.

The cases run in one worker process (`python -m tests.test_hostile_overrides worker ...`), which
calls each command's `main(argv)` with stdout and stderr captured at the file descriptor: one JAX
start-up for all of them, and each case still sees the real command line's logging and exit
code. The worker's address space is capped, so a "huge" value that slips through fails the case
with a MemoryError instead of taking the machine's memory. A worker that dies (an abort, a case
that runs past its time limit) fails that case and a new worker goes on with the next.

Reproduce a failure: NNZOO_FUZZ_SEED=<seed printed> (and NNZOO_FUZZ_CASES) select the same cases;
every failing case is printed as a `python -m train ...` command.
"""

import glob
import json
import os
import random
import re
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEED = int(os.environ.get('NNZOO_FUZZ_SEED', '2112'))
NUM_CASES = int(os.environ.get('NNZOO_FUZZ_CASES', '120'))
CASE_LIMIT_S = float(os.environ.get('NNZOO_FUZZ_CASE_LIMIT_S', '120'))
DATA_LIMIT_S = 30.0        # an absent data set: seconds, not the ~200 s of a network time-out
MAX_STDERR_LINES = 3
ADDRESS_SPACE = 8 << 30    # the worker's cap (bytes): JAX's CPU runtime needs a few GiB of it
DEVICES = 2
OK_CODES = (0, 2, 3, 4)

CONFIGS = sorted(os.path.relpath(p, REPO)
                 for p in glob.glob(os.path.join(REPO, 'experiments/*/*.py'))
                 if not os.path.basename(p).startswith('_') and 'def get_config' in open(p).read())

# Every run is capped (stop_after wins over any num_steps) and kept cheap; a hostile override of
# one of these keys comes after them and so replaces it.
CAPS = ['--stop_after=2', '--config.num_steps=3', '--config.eval_every=0', '--config.plots=False',
        '--config.log_every=1', '--config.ckpt_every=0']

# (kind, raw value): what a hostile user types after --config.KEY=
ANY = [('wrong type', 'abc'), ('zero', '0'), ('negative', '-1'), ('negative', '-7'),
       ('huge', '1000000000000'), ('huge', '1e30'), ('empty', ''), ('empty', '()'),
       ('NaN', 'nan'), ('Inf', 'inf'), ('Inf', '-inf'), ('tuple for a scalar', '(1, 2)'),
       ('None', 'None'), ('bool', 'True'), ('nested', '[[]]'), ('dict', "{'a': 1}"),
       ('fraction', '0.5'), ('tiny', '1e-30')]
TEXT = [('unknown name', 'nope'), ('number as text', '3'), ('empty', ''),
        ('path', '../../no/such/place')]
SEQUENCE = [('empty', '()'), ('None inside', '(None,)'), ('unknown entry', "('nope',)"),
            ('nested', '((1, 2), 3)'), ('huge entry', '(1e30,)'), ('negative entry', '(-1,)'),
            ('scalar', '5')]
DATA_NAMES = [('unbuilt TFDS set', 'mnist'), ('absent TFDS set', 'lm1b'),
              ('unknown set', 'no_such_set_at_all'),
              ('unknown offline set', 'nnzoo_nope'), ('bad builder config', 'nnzoo_adding/t0'),
              ('unbuilt TFDS set with version', 'cifar10:3.0.2'), ('empty', '')]
# Fixed cases first (the issue names them), then random draws.
FIXED = [
    ('experiments/zoo/cnn_digits.py', 'data.name', 'unbuilt TFDS set', 'mnist'),
    ('experiments/zoo/cnn_digits.py', 'data.name', 'absent TFDS set', 'wmt14_translate/de-en'),
    ('experiments/zoo/cnn_digits.py', 'data.name', 'unknown set', 'no_such_set_at_all'),
    ('experiments/sequence/transformer_chars.py', 'data.name', 'absent TFDS set', 'lm1b'),
    ('experiments/transfer/frozen_depth.py', 'init_from.workdir', 'missing checkpoint',
     '{root}/no_such_run'),
    ('experiments/zoo/cnn_digits.py', 'init_from.workdir', 'run without checkpoints',
     '{root}/empty_run'),
    ('experiments/zoo/cnn_digits.py', 'data.train_split', 'unknown split', 'nope'),
]


def _keys(path):
  """The config's leaf keys (dotted) and the current value of each, plus its model's fields."""
  import ml_collections
  import models
  from train import config as config_lib
  config = config_lib.load(os.path.join(REPO, path) + ':tiny')
  out = {}
  for key in config_lib.flat_keys(config):
    node = config
    for part in key.split('.'):
      node = node[part]
    if not isinstance(node, ml_collections.ConfigDict):
      out[key] = node
  for field in models.fields(config.model):
    out.setdefault(f'model.{field}', None)
  return out


def _values(key, old):
  if key == 'data.name':
    return DATA_NAMES
  if key in ('init_from.workdir',):
    return [('missing checkpoint', '{root}/no_such_run'), ('run without checkpoints',
                                                           '{root}/empty_run'),
            ('a file', '{root}/a_file'), ('empty', '')]
  if key == 'data.data_dir':
    return [('missing directory', '{root}/no_such_data'), ('unwritable', '/proc/nnzoo_nope'),
            ('a file', '{root}/a_file')]
  if isinstance(old, str):
    return TEXT + ANY[:4]
  if isinstance(old, (tuple, list)):
    return SEQUENCE + ANY[:6]
  return ANY


def draw_cases(seed=SEED, n=NUM_CASES):
  """[(config, key, kind, raw)]: the fixed cases, then seeded draws (config, key, value)."""
  rng = random.Random(seed)
  keys = {}
  cases = list(FIXED)
  while len(cases) < n:
    path = rng.choice(CONFIGS)
    if path not in keys:
      keys[path] = _keys(path)
    key = rng.choice(sorted(keys[path]))
    kind, raw = rng.choice(_values(key, keys[path][key]))
    cases.append((path, key, kind, raw))
  return cases[:n]


# Bad command lines of the other entry points: (program, what is wrong, argv); '{root}' is the
# scratch directory. launch.aot stops at "libtpu is not installed" where the tpu-aot extra is not
# installed (CI runs this before installing it), and checks its arguments where it is.
CLI = [
    ('train', 'unknown config argument', ['--config', 'experiments/zoo/cnn_digits.py:nope',
                                          '--workdir', '{root}/train_arg']),
    ('train', 'config is a directory', ['--config', 'experiments/zoo', '--workdir',
                                        '{root}/train_dir']),
    ('train', 'negative --stop_after', ['--config', 'experiments/zoo/cnn_digits.py:tiny',
                                        '--workdir', '{root}/train_stop', '--stop_after', '-1']),
    ('train', 'no --workdir', ['--config', 'experiments/zoo/cnn_digits.py:tiny']),
    ('train', 'unknown flag', ['--config', 'experiments/zoo/cnn_digits.py:tiny', '--workdir',
                               '{root}/train_flag', '--nope']),
    ('train', 'override without a value', ['--config', 'experiments/zoo/cnn_digits.py:tiny',
                                           '--workdir', '{root}/train_value', '--config.seed']),
    ('experiments.reproduce', 'missing config', ['experiments/zoo/no_such.py']),
    ('experiments.reproduce', 'a directory as config', ['experiments/zoo']),
    ('experiments.reproduce', 'a config without a claim', ['train/config.py']),
    ('experiments.reproduce', 'seeds not integers', ['experiments/zoo/cnn_digits.py', '--seeds',
                                                     'a,b']),
    ('experiments.reproduce', 'no seeds', ['experiments/zoo/cnn_digits.py', '--seeds', ',']),
    ('experiments.reproduce', 'NaN threshold', ['experiments/zoo/cnn_digits.py', '--threshold',
                                                'nan']),
    ('experiments.reproduce', 'negative seed', ['experiments/zoo/cnn_digits.py', '--seeds', '-1',
                                                '--workdir', '{root}/rep_seed']),
    ('experiments.reproduce', 'unknown key', ['experiments/zoo/cnn_digits.py', '--config.nope=1',
                                              '--workdir', '{root}/rep_key']),
    ('experiments.reproduce', 'absent data set (--full: mnist)', [
        'experiments/zoo/cnn_digits.py', '--full', '--workdir', '{root}/rep_full']),
    ('experiments.reproduce', 'workdir is a file', ['experiments/zoo/cnn_digits.py', '--seeds', '0',
                                                    '--workdir', '{root}/a_file']),
    ('train.bench', 'unknown workload', ['--workload', 'nope']),
    ('train.bench', 'zero steps', ['--workload', 'mlp', '--steps', '0']),
    ('train.bench', 'zero steps per call', ['--workload', 'mlp', '--steps-per-call', '0']),
    ('train.bench', 'negative input steps', ['--workload', 'cnn', '--input-only', '--steps', '-3']),
    ('train.bench', 'unknown key', ['--workload', 'mlp', '--config.nope=1']),
    ('train.bench', 'zero batch', ['--workload', 'mlp', '--config.data.batch_size=0']),
    ('train.bench', 'unknown optimizer', ['--workload', 'mlp', '--config.optimizer.name=nope']),
    ('train.bench', 'missing --record-from file', ['--record-from', '{root}/no_such.jsonl']),
    ('train.bench', '--record-from not JSON', ['--record-from', '{root}/a_file']),
    ('train.bench', 'unknown TPU topology', ['--workload', 'mlp', '--tpu-estimate', 'nope']),
]
IN_PROCESS = ('train', 'experiments.reproduce', 'train.bench')

# The launchers, each in its own subprocess.
LAUNCH = [
    ('launch.aot', 'missing config', ['--config', 'experiments/zoo/no_such.py', '--topology',
                                      'v5e:2x2']),
    ('launch.aot', 'unknown topology', ['--config', 'experiments/zoo/cnn_digits.py',
                                        '--topology', 'nope']),
    ('launch.aot', 'chips per host not integers', [
        '--config', 'experiments/zoo/cnn_digits.py', '--topology', 'v5e:2x2',
        '--chips_per_host', 'a,b']),
    ('launch.aot', 'zero slices', ['--config', 'experiments/zoo/cnn_digits.py', '--topology',
                                   'v5e:2x2', '--num_slices', '0']),
    ('launch.aot', 'unknown key', ['--config', 'experiments/zoo/cnn_digits.py', '--topology',
                                   'v5e:2x2', '--config.nope=1']),
    ('launch.aot', 'slices not an integer', [
        '--config', 'experiments/zoo/cnn_digits.py', '--topology', 'v5e:2x2', '--num_slices',
        'abc']),
    ('launch.local', 'zero processes', ['--num_processes', '0', '--', 'true']),
    ('launch.local', 'no command', ['--num_processes', '1']),
    ('launch.local', 'no such program', [
        '--num_processes', '1', '--devices_per_process', '1', '--', 'no_such_program_nnzoo']),
    ('launch.local', 'negative port', ['--num_processes', '1', '--port', '-5', '--', 'true']),
    ('launch.local', 'NaN grace', ['--num_processes', '1', '--grace', 'nan', '--', 'true']),
    ('launch.local', 'ranks with a missing config', [
        '--num_processes', '2', '--devices_per_process', '1', '--', sys.executable, '-m', 'train',
        '--config', 'experiments/zoo/no_such.py', '--workdir', '{root}/local_run']),
]


def program_of(case):
  return case[1] if case[0] == 'cli' else 'train'


def argv_of(case, root, workdir):
  if case[0] == 'cli':
    return [a.replace('{root}', root) for a in case[3]]
  path, key, _, raw = case
  return ['--config', os.path.join(REPO, path) + ':tiny', '--workdir', workdir, *CAPS,
          f'--config.{key}={raw.replace("{root}", root)}']


def label_of(case):
  return f'{case[1]}: {case[2]}' if case[0] == 'cli' else f'{case[2]} {case[1]}'


def command_of(case, argv):
  import shlex
  return f'python -m {program_of(case)} ' + shlex.join(argv)


# --- The worker: runs cases in one process ------------------------------------------------------

def _entry(program):
  if program == 'train':
    from train import __main__ as entry
    return entry.main
  if program == 'experiments.reproduce':
    from experiments import reproduce
    return reproduce.main
  from train import bench
  return bench._main   # pylint: disable=protected-access


def _run_captured(program, argv, err_path):
  """`python -m program argv`, in this process where it can be (stdout and stderr, fd 1 and 2,
  going to err_path's files), else in a subprocess; returns the exit code."""
  if program not in IN_PROCESS:
    with open(err_path, 'wb') as err, open(err_path + '.out', 'wb') as out:
      try:
        return subprocess.run([sys.executable, '-m', program, *argv], cwd=REPO, stdout=out,
                              stderr=err, timeout=CASE_LIMIT_S).returncode
      except subprocess.TimeoutExpired:
        return f'ran past {CASE_LIMIT_S:.0f} s'
  from train import preemption
  sys.stdout.flush()
  sys.stderr.flush()
  saved = os.dup(1), os.dup(2)
  cwd = os.getcwd()
  with open(err_path, 'wb') as err, open(err_path + '.out', 'wb') as out:
    os.dup2(out.fileno(), 1)
    os.dup2(err.fileno(), 2)
    try:
      os.chdir(REPO)   # as the commands are run: relative config paths
      rc = _entry(program)(argv)
    except SystemExit as e:   # argparse
      rc = e.code if isinstance(e.code, int) else 2
    except BaseException as e:  # noqa: BLE001 - what would escape main is a traceback
      import traceback
      traceback.print_exc()
      rc = f'raised {type(e).__name__}'
    finally:
      os.chdir(cwd)
      sys.stdout.flush()
      sys.stderr.flush()
      os.dup2(saved[0], 1)
      os.dup2(saved[1], 2)
      os.close(saved[0])
      os.close(saved[1])
      preemption.STOP.restore()
      preemption.STOP.requested = False
  return rc


def worker(cases_path, results_path, start):
  import faulthandler
  import resource
  resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
  spec = json.load(open(cases_path))
  root, cases = spec['root'], spec['cases']
  with open(results_path, 'a') as results:
    for i in range(start, len(cases)):
      results.write(json.dumps({'i': i, 'started': True}) + '\n')
      results.flush()
      workdir = os.path.join(root, f'case{i}')
      argv = argv_of(cases[i], root, workdir)
      program = program_of(cases[i])
      faulthandler.dump_traceback_later(CASE_LIMIT_S * 2, exit=True)
      t0 = time.time()
      rc = _run_captured(program, argv, os.path.join(root, f'case{i}.err'))
      seconds = time.time() - t0
      row = {'i': i, 'rc': rc, 'seconds': round(seconds, 1)}
      if rc == 0 and program == 'train':   # the workdir resumes: step 3, from step 2's checkpoint
        t0 = time.time()
        row['resume_rc'] = _run_captured(program, argv + ['--stop_after=3'],
                                         os.path.join(root, f'case{i}.resume.err'))
        row['resume_seconds'] = round(time.time() - t0, 1)
      faulthandler.cancel_dump_traceback_later()
      results.write(json.dumps(row) + '\n')
      results.flush()


# --- Checks -----------------------------------------------------------------------------------

PROGRESS = re.compile(r'\[\d\d:\d\d[<,\]]')    # tqdm's elapsed time: '[00:01<00:02, ...]'
ESCAPES = re.compile(r'\x1b\[[0-9;]*[A-Za-z]')


def stderr_lines(text):
  """The non-blank lines of stderr that are not progress bars (tqdm's, ours and TFDS's)."""
  lines = []
  for line in ESCAPES.sub('', text).replace('\r', '\n').splitlines():
    if line.strip() and not PROGRESS.search(line):
      lines.append(line)
  return lines


def problems_of(case, row, root):
  """What is wrong with one case's outcome ([] if nothing)."""
  i = row['i']
  err = open(os.path.join(root, f'case{i}.err'), errors='replace').read()
  lines = stderr_lines(err)
  out = []
  if row.get('rc') not in OK_CODES:
    out.append(f'exit {row.get("rc")}')
  if 'Traceback' in err:
    out.append('a traceback')
  elif len(lines) > MAX_STDERR_LINES:
    out.append(f'{len(lines)} lines on stderr')
  if (case[1] in ('data.name', 'data.data_dir') or 'data set' in case[2]) and row.get(
      'seconds', 0) > DATA_LIMIT_S:
    out.append(f'took {row["seconds"]} s (a network time-out?)')
  if row.get('rc') == 0 and program_of(case) == 'train':
    resumed = open(os.path.join(root, f'case{i}.resume.err'), errors='replace').read()
    summary = os.path.join(root, f'case{i}', 'summary.json')
    step = json.load(open(summary)).get('step') if os.path.exists(summary) else None
    metrics = os.path.join(root, f'case{i}', 'metrics.jsonl')
    steps = [json.loads(l)['step'] for l in open(metrics) if '"train"' in l] if os.path.exists(
        metrics) else []
    # (3: step 3 diverged, e.g. a huge learning rate; it did resume from step 2's checkpoint)
    if row.get('resume_rc') not in (0, 3) or 'Traceback' in resumed or (
        'resumed from step 2' not in resumed):
      out.append(f'resume: exit {row.get("resume_rc")}')
      err = resumed
      lines = stderr_lines(resumed)
    elif steps != sorted(set(steps)) or not steps or step is None:
      out.append(f'resume: summary step {step}, metrics steps {steps}')
  if out:
    out.append('stderr:\n    ' + '\n    '.join(lines[-8:] if 'Traceback' not in err
                                              else err.splitlines()[-12:]))
  return out


def run_fuzz(cases, root, env):
  """Runs every case in workers (a new one after one dies); returns {i: row}."""
  spec = os.path.join(root, 'cases.json')
  json.dump({'root': root, 'cases': cases}, open(spec, 'w'))
  results = os.path.join(root, 'results.jsonl')
  rows, start = {}, 0
  while start < len(cases):
    p = subprocess.run([sys.executable, '-m', 'tests.test_hostile_overrides', 'worker', spec,
                        results, str(start)], cwd=root, env=env, capture_output=True, text=True,
                       timeout=CASE_LIMIT_S * 2 * (len(cases) - start) + 120)
    started = None
    for line in open(results):
      r = json.loads(line)
      if r.get('started'):
        started = r['i']
      else:
        rows[r['i']] = r
        started = None if started == r['i'] else started
    if started is not None:   # the worker died during this case (faulthandler's dump of a case
      # past its time limit went to the case's stderr)
      case_err = os.path.join(root, f'case{started}.err')
      tail = open(case_err, errors='replace').read()[-3000:] if os.path.exists(case_err) else ''
      rows[started] = {'i': started, 'rc': f'worker died ({p.returncode})',
                       'worker_stderr': (p.stderr[-1500:] + '\n' + tail).strip()}
      start = started + 1
    elif p.returncode != 0:
      raise AssertionError(f'fuzz worker failed outside a case: {p.stderr[-3000:]}')
    else:
      break
  return rows


def prepare(root, env):
  """What some hostile values point at: a run directory without checkpoints, a plain file; and
  the offline data sets the configs read, built once (their build output is not a case's)."""
  os.makedirs(os.path.join(root, 'empty_run'), exist_ok=True)
  # TFDS sets (TFDS_DATA_DIR, fuzz_env): mnist and cifar10 are there but empty (not built as
  # ArrayRecord), the others are not there at all.
  for name in ('mnist', 'cifar10/3.0.2'):
    os.makedirs(os.path.join(root, 'no_tfds', name), exist_ok=True)
  open(os.path.join(root, 'a_file'), 'w').write('not a directory\n')
  code = ('import sys; from train import datasets; [datasets.ensure_built(n, datasets.'
          'default_data_dir()) for n in sys.argv[1:] if datasets.can_build(n, datasets.'
          'default_data_dir())]')
  names = sorted({_data_name(p) for p in CONFIGS})
  subprocess.run([sys.executable, '-c', code, *names], cwd=REPO, env=env, check=True,
                 capture_output=True, timeout=600)


def _data_name(path):
  from train import config as config_lib
  return config_lib.load(os.path.join(REPO, path) + ':tiny').data.name


def fuzz_env(root):
  env = dict(os.environ, NNZOO_DATA_DIR=os.path.join(root, 'tfds'), PYTHONUNBUFFERED='1',
             XLA_FLAGS=f'--xla_force_host_platform_device_count={DEVICES}',
             TF_CPP_MIN_LOG_LEVEL='2', PYTHONPATH=REPO,
             TFDS_DATA_DIR=os.path.join(root, 'no_tfds'))   # absent TFDS sets: absent here
  env.pop('NNZOO_DEBUG', None)
  return env


def all_cases(seed=SEED, n=NUM_CASES):
  """The hostile overrides of `python -m train`, then the other entry points' bad commands."""
  return draw_cases(seed, n) + [('cli', *c) for c in CLI]


def failures_of(cases, rows, root):
  failures = []
  for i, case in enumerate(cases):
    row = rows[i]
    found = problems_of(case, row, root) if 'worker_stderr' not in row else [
        str(row['rc']), row['worker_stderr'][-1500:]]
    if found:
      failures.append(f'case {i} ({label_of(case)}): ' + '; '.join(found[:-1]) + '\n  '
                      + command_of(case, argv_of(case, root, os.path.join(root, f'case{i}')))
                      + '\n  ' + found[-1])
  return failures


@pytest.mark.slow  # ~110 commands, most in one process: 4-8 minutes on 2 cores (CI)
def test_hostile_input_stops_with_one_line_and_no_traceback(tmp_path):
  root = str(tmp_path)
  env = fuzz_env(root)
  prepare(root, env)
  cases = all_cases()
  print(f'NNZOO_FUZZ_SEED={SEED} NNZOO_FUZZ_CASES={NUM_CASES}: {len(cases)} commands')
  t0 = time.time()
  rows = run_fuzz(cases, root, env)
  failures = failures_of(cases, rows, root)
  codes = {}
  for r in rows.values():
    codes[r['rc']] = codes.get(r['rc'], 0) + 1
  print(f'{len(cases)} commands in {time.time() - t0:.0f} s; exit codes {codes}')
  assert not failures, (f'NNZOO_FUZZ_SEED={SEED} NNZOO_FUZZ_CASES={NUM_CASES}: {len(failures)} '
                        f'of {len(cases)} commands misbehaved:\n' + '\n'.join(failures))


@pytest.mark.slow  # a dozen subprocesses, a few seconds each
@pytest.mark.parametrize('program,what,argv', LAUNCH)
def test_launchers_stop_bad_commands_with_one_line(program, what, argv, tmp_path):
  root = str(tmp_path)
  open(os.path.join(root, 'a_file'), 'w').write('not a directory\n')
  argv = [a.replace('{root}', root) for a in argv]
  p = subprocess.run([sys.executable, '-m', program, *argv], cwd=REPO, env=fuzz_env(root),
                     capture_output=True, text=True, timeout=180)
  lines = stderr_lines(p.stderr)
  assert p.returncode in OK_CODES and 'Traceback' not in p.stderr and len(
      lines) <= MAX_STDERR_LINES, (f'{what}: exit {p.returncode}, {len(lines)} lines:\n'
                                   + '\n'.join(lines[-12:]))


if __name__ == '__main__':
  if sys.argv[1:2] == ['worker']:
    worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
  elif sys.argv[1:2] == ['list']:
    for i, c in enumerate(all_cases()):
      print(i, label_of(c), command_of(c, argv_of(c, '{root}', f'{{root}}/case{i}')))
