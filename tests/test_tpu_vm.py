"""launch/tpu_vm.py: the exact gcloud commands of a dry run, the retry after a preemption, and
doctor's verdict over all workers. (launch/bootstrap.sh itself: tests/test_tpu_bootstrap.py.)"""

import io
import os
import subprocess
import sys

import pytest

from launch import doctor
from launch import tpu_vm

COMMON = ['--name', 'nnzoo-1', '--zone', 'us-west4-a', '--project', 'proj', '--commit',
          '0123456789abcdef0123']
TRAIN = ['--', '--config', 'experiments/zoo/cnn_digits.py:full', '--workdir', 'gs://b/runs/cnn',
         '--config.seed=1']
WHERE = '--zone=us-west4-a --project=proj'
# What bootstrap.sh does, as the dry run prints it (its '#:' lines, as comments).
with open(tpu_vm.BOOTSTRAP_SCRIPT) as f:
  STEPS = [f'#  {line[2:].rstrip()}' for line in f if line.startswith('#:')]
NOTES = ['# launch/bootstrap.sh on every worker:', *STEPS,
         f'#   requires-python in this checkout: {tpu_vm.requires_python()}']
BOOTSTRAP = [
    'git archive --format=tar.gz --output=/tmp/nnzoo-0123456789ab.tar.gz 0123456789abcdef0123',
    f'gcloud compute tpus tpu-vm scp /tmp/nnzoo-0123456789ab.tar.gz '
    f'nnzoo-1:nnzoo-0123456789ab.tar.gz {WHERE} --worker=all',
    f"gcloud compute tpus tpu-vm ssh nnzoo-1 {WHERE} --worker=all '--command=tar -xzOf "
    'nnzoo-0123456789ab.tar.gz launch/bootstrap.sh > nnzoo-bootstrap.sh && '
    "bash nnzoo-bootstrap.sh nnzoo-0123456789ab.tar.gz 0123456789abcdef0123'",
    *NOTES,
]
DOCTOR = (f"gcloud compute tpus tpu-vm ssh nnzoo-1 {WHERE} --worker=all '--command=cd ~/nnzoo && "
          '~/nnzoo-venv/bin/python -m launch.doctor --distributed --platform tpu '
          "--workdir gs://b/runs/cnn'")
RUN = (f"gcloud compute tpus tpu-vm ssh nnzoo-1 {WHERE} --worker=all '--command=cd ~/nnzoo && "
       'PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=2 ~/nnzoo-venv/bin/python -m train --distributed '
       '--config experiments/zoo/cnn_digits.py:full --workdir gs://b/runs/cnn --config.seed=1 '
       "2>&1 | tee -a ~/nnzoo-run.log; exit ${PIPESTATUS[0]}'")


def dry_run(*argv):
  out = io.StringIO()
  assert tpu_vm.main(['--dry-run', *COMMON, *argv], out=out) == 0
  return out.getvalue().splitlines()


def test_up_queued_spot_dry_run_prints_every_gcloud_command():
  assert dry_run('up', '--queued', '--spot', *TRAIN) == [
      f'gcloud compute tpus queued-resources create nnzoo-1 --node-id=nnzoo-1 {WHERE} '
      '--accelerator-type=v5litepod-8 --runtime-version=v2-alpha-tpuv5-lite --spot',
      f"gcloud compute tpus queued-resources describe nnzoo-1 {WHERE} "
      "'--format=value(state.state)'",
      *BOOTSTRAP,
      DOCTOR,
      RUN,
      f'gcloud compute tpus queued-resources delete nnzoo-1 {WHERE} --force --quiet',
  ]


def test_the_dry_run_shows_the_python_check_the_venv_reuse_and_doctor():
  text = '\n'.join(dry_run('up', *TRAIN))
  assert "requires-python '>=X.Y'" in text and 'uv python install X.Y' in text
  assert 'reuse the venv, install nothing' in text
  assert 'requires-python in this checkout: >=' in text
  assert '-m launch.doctor --distributed --platform tpu --workdir gs://b/runs/cnn' in text


@pytest.mark.parametrize('accelerator, version', [
    ('v5litepod-8', 'v2-alpha-tpuv5-lite'), ('v4-16', 'tpu-ubuntu2204-base'),
    ('v5p-8', 'v2-alpha-tpuv5'), ('v6e-8', 'v2-alpha-tpuv6e'), ('v3-8', 'tpu-ubuntu2204-base')])
def test_runtime_version_follows_the_accelerator(accelerator, version):
  assert dry_run('--accelerator', accelerator, 'create') == [
      f'gcloud compute tpus tpu-vm create nnzoo-1 {WHERE} --accelerator-type={accelerator} '
      f'--version={version}']


def test_unknown_accelerator_asks_for_a_version():
  with pytest.raises(SystemExit, match='give --version'):
    dry_run('--accelerator', 'v9-8', 'create')


def test_bootstrap_with_wheels_from_the_bucket():
  lines = dry_run('--wheels', 'gs://b/wheels', 'bootstrap')
  assert lines[2].endswith("bash nnzoo-bootstrap.sh nnzoo-0123456789ab.tar.gz "
                           "0123456789abcdef0123 --wheels gs://b/wheels'")
  assert lines[:2] + lines[3:] == BOOTSTRAP[:2] + BOOTSTRAP[3:]


def test_each_subcommand_dry_run():
  assert dry_run('--accelerator', 'v4-16', '--version', 'tpu-ubuntu2204-base', 'create') == [
      f'gcloud compute tpus tpu-vm create nnzoo-1 {WHERE} --accelerator-type=v4-16 '
      '--version=tpu-ubuntu2204-base']
  assert dry_run('bootstrap') == BOOTSTRAP
  assert dry_run('doctor', '--workdir', 'gs://b/runs/cnn') == [DOCTOR]
  assert dry_run('doctor') == [DOCTOR.replace(' --workdir gs://b/runs/cnn', '')]
  assert dry_run('run', *TRAIN) == [RUN]
  assert dry_run('logs', '--lines', '50') == [
      f"gcloud compute tpus tpu-vm ssh nnzoo-1 {WHERE} --worker=all "
      "'--command=tail -n 50 ~/nnzoo-run.log'"]
  assert dry_run('delete') == [f'gcloud compute tpus tpu-vm delete nnzoo-1 {WHERE} --quiet']


def test_run_needs_config_and_workdir():
  with pytest.raises(SystemExit):
    tpu_vm.main(['--dry-run', *COMMON, 'run', '--', '--config', 'x.py'], out=io.StringIO())


def doctor_report(host, verdict='OK', hosts=2):
  return (f'doctor {host}: python 3.11.14 (/home/u/nnzoo-venv/bin/python)\n'
          f'doctor {host}: jax 0.10.2, jaxlib 0.10.2, libtpu 0.0.42\n'
          f'doctor {host}: devices 8 (4 local, tpu TPU v4), process 0 of {hosts} hosts\n'
          f'doctor {host}: workdir gs://b/runs/cnn: writable\n'
          f'doctor {host}: {verdict}\n')


class ScriptedShell(tpu_vm.Shell):
  """Records commands; the first run is preempted, the second succeeds; doctor says `doctor`."""

  def __init__(self, doctor=(0, doctor_report('w-0') + doctor_report('w-1')), state='PREEMPTED'):
    super().__init__(dry_run=False, out=io.StringIO())
    self.commands, self.runs, self.doctor, self.state = [], 0, doctor, state

  def run(self, cmd, *, check=True, capture=False, log_path=''):
    self.commands.append(cmd)
    if '--worker=all' in cmd and any('-m launch.doctor' in c for c in cmd):
      assert capture
      return self.doctor
    if '--worker=all' in cmd and any('-m train' in c for c in cmd):
      self.runs += 1
      return (1 if self.runs == 1 else 0), ''
    if cmd[4] == 'describe':
      return 0, self.state + '\n'
    return 0, ''


def test_up_recreates_a_preempted_tpu_and_reruns(tmp_path):
  args, train_args = tpu_vm.parse(['--log_dir', str(tmp_path), *COMMON, 'up', '--spot',
                                   '--retry_wait', '0', *TRAIN])
  shell = ScriptedShell()
  assert tpu_vm.up(args, tpu_vm.TpuVm(args, shell), train_args) == 0
  verbs = [c[4] if c[0] == 'gcloud' else c[1] for c in shell.commands]
  assert verbs == ['create', 'archive', 'scp', 'ssh', 'ssh', 'ssh', 'describe', 'delete',
                   'create', 'archive', 'scp', 'ssh', 'ssh', 'ssh', 'delete']
  assert shell.runs == 2


def test_up_stops_when_a_worker_fails_doctor(tmp_path, capsys):
  args, train_args = tpu_vm.parse(['--log_dir', str(tmp_path), *COMMON, 'up', '--retry_wait', '0',
                                   *TRAIN])
  shell = ScriptedShell(doctor=(1, doctor_report('w-0') + doctor_report(
      'w-1', 'FAIL: workdir gs://b/runs/cnn not writable: ImportError: Please install gcsfs')),
      state='READY')
  assert tpu_vm.up(args, tpu_vm.TpuVm(args, shell), train_args) == 1
  assert shell.runs == 0                       # never started the run
  verbs = [c[4] if c[0] == 'gcloud' else c[1] for c in shell.commands]
  assert verbs == ['create', 'archive', 'scp', 'ssh', 'ssh', 'describe', 'delete']
  err = capsys.readouterr().err.splitlines()
  assert err[0] == ('launch.tpu_vm: doctor: w-1: workdir gs://b/runs/cnn not writable: '
                    'ImportError: Please install gcsfs')
  assert err[1].startswith('launch.tpu_vm: not running')


def test_doctor_verdict_over_all_workers():
  ok = doctor_report('w-0') + doctor_report('w-1')
  assert tpu_vm.doctor_failures(0, ok) == []
  # gcloud may prefix the workers' lines; a FAIL line per failing worker, nothing for the others.
  prefixed = ''.join(f'[w] {line}\n'
                     for line in ok.replace('w-1: OK', 'w-1: FAIL: jax: x').split('\n'))
  assert tpu_vm.doctor_failures(1, prefixed) == ['w-1: jax: x']
  # A worker that printed nothing (its Python died): fewer OKs than hosts.
  assert tpu_vm.doctor_failures(1, doctor_report('w-0')) == [
      'only 1 of 2 workers reported OK (see the output above)']
  assert tpu_vm.doctor_failures(255, 'ssh: connect to host 10.0.0.2: timed out\n') == [
      'doctor exited with code 255 and no report']


def test_doctor_on_this_cpu_machine(tmp_path):
  out = io.StringIO()
  assert doctor.main(['--workdir', str(tmp_path / 'runs' / 'x')], out=out) == 0
  lines = out.getvalue().splitlines()
  host = lines[0].split(':')[0]                  # 'doctor HOSTNAME'
  facts = [line[len(host) + 2:] for line in lines]
  assert facts[0].startswith('python 3.')
  assert facts[1].startswith('jax ') and ', jaxlib ' in facts[1] and ', libtpu ' in facts[1]
  assert facts[2] == 'devices 8 (8 local, cpu cpu), process 0 of 1 hosts'   # conftest's 8
  assert facts[3] == f'workdir {tmp_path}/runs/x: writable'
  assert facts[4] == 'OK'
  assert list((tmp_path / 'runs' / 'x').iterdir()) == []       # the probe file is gone
  assert tpu_vm.doctor_failures(0, out.getvalue()) == []


def test_doctor_fails_with_one_line_that_says_why(tmp_path):
  (tmp_path / 'file').write_text('')
  out = io.StringIO()
  assert doctor.main(['--workdir', str(tmp_path / 'file' / 'x'), '--platform', 'tpu'],
                     out=out) == 1
  last = out.getvalue().splitlines()[-1]
  assert ': FAIL: platform cpu, not tpu; workdir ' in last and 'not writable: ' in last
  assert len(tpu_vm.doctor_failures(1, out.getvalue())) == 1


def test_libtpu_version_says_not_installed_when_absent():
  assert doctor.version_of('nnzoo-no-such-distribution') == 'not installed'


def test_doctor_runs_as_a_module(tmp_path):
  p = subprocess.run([sys.executable, '-m', 'launch.doctor', '--workdir', str(tmp_path)],
                     stdout=subprocess.PIPE, text=True, timeout=60,
                     env={**os.environ, 'JAX_PLATFORMS': 'cpu'}, cwd=tpu_vm.REPO)
  assert p.returncode == 0 and p.stdout.splitlines()[-1].endswith(': OK'), p.stdout


def test_a_tpu_preempted_during_doctor_is_recreated(tmp_path):
  args, train_args = tpu_vm.parse(['--log_dir', str(tmp_path), *COMMON, 'up', '--retries', '1',
                                   '--retry_wait', '0', *TRAIN])
  shell = ScriptedShell(doctor=(255, ''))        # ssh failed: the TPU is PREEMPTED
  assert tpu_vm.up(args, tpu_vm.TpuVm(args, shell), train_args) == 1
  verbs = [c[4] if c[0] == 'gcloud' else c[1] for c in shell.commands]
  assert verbs == ['create', 'archive', 'scp', 'ssh', 'ssh', 'describe', 'delete'] * 2 + ['delete']
