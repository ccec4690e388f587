"""launch/bootstrap.sh, run here by bash in a temporary HOME, with stub python3 / uv / pip / gcloud
on PATH that log their arguments: which interpreter it picks for the worker's python3, what it
installs, and that a second bootstrap at the same commit installs nothing."""

import os
import pathlib
import shutil
import subprocess
import tarfile
import tomllib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = ROOT / 'launch' / 'bootstrap.sh'
COMMIT = '0123456789abcdef0123'
MIN = tomllib.loads((ROOT / 'pyproject.toml').read_text())['project']['requires-python']
MIN = MIN.split('>=')[1].split(',')[0].strip()          # '3.11'
TOOLS = ('bash', 'tar', 'gzip', 'sed', 'sha256sum', 'cut', 'cat', 'rm', 'mkdir', 'touch',
         'hostname', 'uname', 'dirname', 'chmod')   # (the last two: for the stubs)

# One stub for every program: it logs "ROLE ARGS" and acts just enough for the script to go on.
# It makes the next stubs (uv, the managed Python, a venv's python and pip) by copying itself.
STUB = r'''#!/bin/bash
role=ROLE; version=VERSION
echo "$role $*" >> "$STUB_LOG"
mkstub() {
  mkdir -p "$(dirname "$1")"; sed "s|^role=.*|role=$2; version=$3|" "$0" > "$1"; chmod +x "$1"
}
case "$role:$1:$2" in
  python3:-m:venv) [ -z "$STUB_VENV_FAILS" ] || exit 1 ;;&
  *python*:-c:*) echo "$version" ;;
  *python*:-m:venv) mkstub "$3/bin/python" venv-python "$version"; mkstub "$3/bin/pip" pip "" ;;
  python3:-m:pip) mkstub "$HOME/.local/bin/uv" uv "" ;;
  uv:python:install) mkstub "$HOME/.local/share/uv/python/cpython-$3/bin/python3" uv-python "$3" ;;
  uv:python:find) echo "$HOME/.local/share/uv/python/cpython-$3/bin/python3" ;;
  gcloud:storage:ls) exit "${STUB_GCS_LS_RC:-1}" ;;
  pip:wheel:*) touch "$4/jax-0.10.2-py3-none-any.whl" ;;
esac
'''


def write_stub(path, role, version=''):
  path.parent.mkdir(parents=True, exist_ok=True)
  path.write_text(STUB.replace('ROLE', role).replace('VERSION', version))
  path.chmod(0o755)


@pytest.fixture
def worker(tmp_path):
  """A worker's HOME with the archive in it, and a PATH of the stubs plus the few real tools."""
  home = tmp_path / 'home'
  home.mkdir()
  sysbin = tmp_path / 'sysbin'
  sysbin.mkdir()
  for tool in TOOLS:
    os.symlink(shutil.which(tool), sysbin / tool)
  stubs = tmp_path / 'stubs'
  write_stub(stubs / 'gcloud', 'gcloud')

  def archive(name='nnzoo.tar.gz', pyproject=None):
    with tarfile.open(home / name, 'w:gz') as tar:
      src = tmp_path / 'src'
      src.mkdir(exist_ok=True)
      (src / 'pyproject.toml').write_text(pyproject or (ROOT / 'pyproject.toml').read_text())
      tar.add(src / 'pyproject.toml', 'pyproject.toml')
    return name

  def bootstrap(python3_version='3.10', commit=COMMIT, *args, env=(), archive_name=None):
    """Runs the script; returns (exit code, its output, the stubs' log lines with HOME as ~)."""
    if python3_version:
      write_stub(stubs / 'python3', 'python3', python3_version)
    log = tmp_path / 'stub.log'
    log.write_text('')
    p = subprocess.run(
        ['bash', str(SCRIPT), archive_name or archive(), commit, *args], cwd=home,
        env={'HOME': str(home), 'PATH': f'{stubs}:{sysbin}', 'STUB_LOG': str(log), **dict(env)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
    return p.returncode, p.stdout, log.read_text().replace(str(home), '~').splitlines()

  bootstrap.home, bootstrap.archive = home, archive
  return bootstrap


VERSION_CHECK = 'python3 -c import sys; print("%d.%d" % sys.version_info[:2])'
VENV_PYTHON = 'venv-python -c import sys; print("%d.%d" % sys.version_info[:2])'
INSTALL = 'pip install -q -e ~/nnzoo[tpu]'


def test_python_310_gets_a_uv_managed_python_without_root(worker):
  code, out, log = worker('3.10')
  assert code == 0, out
  assert log == [
      VERSION_CHECK,
      'python3 -m pip install -q --user uv',
      f'uv python install {MIN}',
      f'uv python find {MIN}',
      'uv-python -m venv ~/nnzoo-venv',
      VENV_PYTHON,
      INSTALL,
  ]
  assert f'python3 is 3.10, older than requires-python >={MIN}' in out
  home = worker.home
  assert (home / 'nnzoo' / 'COMMIT').read_text().strip() == COMMIT
  assert (home / 'nnzoo-venv' / 'nnzoo-stamp').read_text().startswith(f'commit {COMMIT} pyproject ')


def test_python_311_uses_the_system_python(worker):
  code, out, log = worker(MIN)
  assert code == 0, out
  assert log == [VERSION_CHECK, 'python3 -m venv ~/nnzoo-venv', VENV_PYTHON, INSTALL]
  assert not any(line.startswith('uv') for line in log)
  assert f'python3 is {MIN}: satisfies' in out


def test_python_311_without_python3_venv_falls_back_to_uv(worker):
  code, out, log = worker(MIN, env={'STUB_VENV_FAILS': '1'})
  assert code == 0, out
  assert log[:4] == [VERSION_CHECK, 'python3 -m venv ~/nnzoo-venv',
                     'python3 -m pip install -q --user uv', f'uv python install {MIN}']
  assert log[-2:] == [VENV_PYTHON, INSTALL]


def test_second_bootstrap_at_the_same_commit_installs_nothing(worker):
  assert worker('3.10')[0] == 0
  code, out, log = worker('3.10')
  assert code == 0, out
  assert log == ['venv-python -c import sys']        # only: does the venv's Python still run?
  assert 'reusing' in out and COMMIT in out


def test_new_commit_same_pyproject_only_refreshes_the_editable_install(worker):
  assert worker('3.10')[0] == 0
  code, out, log = worker('3.10', 'fedcba9876543210fedc')
  assert code == 0, out
  assert log == ['venv-python -c import sys', 'pip install -q --no-deps -e ~/nnzoo']
  stamp = (worker.home / 'nnzoo-venv' / 'nnzoo-stamp').read_text()
  assert stamp.startswith('commit fedcba9876543210fedc pyproject ')


def test_changed_pyproject_reinstalls_into_the_same_venv(worker):
  assert worker('3.10')[0] == 0
  changed = (ROOT / 'pyproject.toml').read_text() + '\n# a new dependency\n'
  name = worker.archive('changed.tar.gz', changed)
  code, out, log = worker('3.10', archive_name=name)
  assert code == 0, out
  # The venv's Python (uv's) is kept; python3 is asked, but no new interpreter is fetched.
  assert log == ['venv-python -c import sys', VERSION_CHECK, VENV_PYTHON, VENV_PYTHON, INSTALL]
  assert 'updating ~/nnzoo-venv'.replace('~', str(worker.home)) in out


def test_wheels_from_the_bucket(worker):
  # First VM: no wheels there yet -> install from PyPI, then fill the bucket, COMPLETE last.
  code, out, log = worker(MIN, COMMIT, '--wheels', 'gs://b/wheels/')
  assert code == 0, out
  key = [line for line in log if line.startswith('gcloud storage ls')][0].split('/')[-2]
  assert key.startswith(f'py{MIN}-')
  assert log[3:] == [
      f'gcloud storage ls gs://b/wheels/{key}/COMPLETE',
      INSTALL,
      f'pip wheel -q -w ~/nnzoo-wheels/{key} setuptools>=68 wheel ~/nnzoo[tpu]',
      f'gcloud storage cp ~/nnzoo-wheels/{key}/jax-0.10.2-py3-none-any.whl gs://b/wheels/{key}/',
      f'gcloud storage cp ~/nnzoo-wheels/{key}/COMPLETE gs://b/wheels/{key}/COMPLETE',
  ]
  # A recreated VM (blank disk): copy the wheels down, install with no index at all.
  shutil.rmtree(worker.home)
  worker.home.mkdir()
  code, out, log = worker(MIN, COMMIT, '--wheels', 'gs://b/wheels', env={'STUB_GCS_LS_RC': '0'})
  assert code == 0, out
  assert log[3:] == [
      f'gcloud storage ls gs://b/wheels/{key}/COMPLETE',
      f'gcloud storage cp gs://b/wheels/{key}/*.whl ~/nnzoo-wheels/{key}/',
      f'pip install -q --no-index --find-links ~/nnzoo-wheels/{key} -e ~/nnzoo[tpu]',
  ]


def test_unreadable_requires_python_stops_with_one_line(worker):
  name = worker.archive('bad.tar.gz', '[project]\nname = "nnzoo"\n')
  code, out, log = worker('3.10', archive_name=name)
  assert code == 1
  assert out.strip().splitlines()[-1].endswith("FAIL: cannot read a minimum version from "
                                               "requires-python = ''")
