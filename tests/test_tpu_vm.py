"""launch/tpu_vm.py: the exact gcloud commands of a dry run, and the retry after a preemption."""

import io

import pytest

from launch import tpu_vm

COMMON = ['--name', 'nnzoo-1', '--zone', 'us-west4-a', '--project', 'proj', '--commit',
          '0123456789abcdef0123']
TRAIN = ['--', '--config', 'experiments/zoo/cnn_digits.py:full', '--workdir', 'gs://b/runs/cnn',
         '--config.seed=1']
WHERE = '--zone=us-west4-a --project=proj'
BOOTSTRAP = [
    'git archive --format=tar.gz --output=/tmp/nnzoo-0123456789ab.tar.gz 0123456789abcdef0123',
    f'gcloud compute tpus tpu-vm scp /tmp/nnzoo-0123456789ab.tar.gz nnzoo-1:nnzoo-0123456789ab.tar.gz '
    f'{WHERE} --worker=all',
    f"gcloud compute tpus tpu-vm ssh nnzoo-1 {WHERE} --worker=all '--command=set -e && "
    "rm -rf ~/nnzoo && mkdir -p ~/nnzoo && tar -xzf nnzoo-0123456789ab.tar.gz -C ~/nnzoo && "
    "python3 -m venv ~/nnzoo-venv && ~/nnzoo-venv/bin/pip install -q -U pip && "
    "~/nnzoo-venv/bin/pip install -q -e ~/nnzoo\"[tpu]\" && "
    "echo 0123456789abcdef0123 > ~/nnzoo/COMMIT'",
]
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
      f"gcloud compute tpus queued-resources describe nnzoo-1 {WHERE} '--format=value(state.state)'",
      *BOOTSTRAP,
      RUN,
      f'gcloud compute tpus queued-resources delete nnzoo-1 {WHERE} --force --quiet',
  ]


def test_each_subcommand_dry_run():
  assert dry_run('--accelerator', 'v4-16', '--version', 'tpu-ubuntu2204-base', 'create') == [
      f'gcloud compute tpus tpu-vm create nnzoo-1 {WHERE} --accelerator-type=v4-16 '
      '--version=tpu-ubuntu2204-base']
  assert dry_run('bootstrap') == BOOTSTRAP
  assert dry_run('run', *TRAIN) == [RUN]
  assert dry_run('logs', '--lines', '50') == [
      f"gcloud compute tpus tpu-vm ssh nnzoo-1 {WHERE} --worker=all "
      "'--command=tail -n 50 ~/nnzoo-run.log'"]
  assert dry_run('delete') == [f'gcloud compute tpus tpu-vm delete nnzoo-1 {WHERE} --quiet']


def test_run_needs_config_and_workdir():
  with pytest.raises(SystemExit):
    tpu_vm.main(['--dry-run', *COMMON, 'run', '--', '--config', 'x.py'], out=io.StringIO())


class ScriptedShell(tpu_vm.Shell):
  """Records commands; the first run is preempted, the second succeeds."""

  def __init__(self):
    super().__init__(dry_run=False, out=io.StringIO())
    self.commands, self.runs = [], 0

  def run(self, cmd, *, check=True, capture=False, log_path=''):
    self.commands.append(cmd)
    if '--worker=all' in cmd and any('-m train' in c for c in cmd):
      self.runs += 1
      return (1 if self.runs == 1 else 0), ''
    if cmd[4] == 'describe':
      return 0, 'PREEMPTED\n'
    return 0, ''


def test_up_recreates_a_preempted_tpu_and_reruns(tmp_path):
  args, train_args = tpu_vm.parse(['--log_dir', str(tmp_path), *COMMON, 'up', '--spot',
                                   '--retry_wait', '0', *TRAIN])
  shell = ScriptedShell()
  assert tpu_vm.up(args, tpu_vm.TpuVm(args, shell), train_args) == 0
  verbs = [c[4] if c[0] == 'gcloud' else c[1] for c in shell.commands]
  assert verbs == ['create', 'archive', 'scp', 'ssh', 'ssh', 'describe', 'delete',
                   'create', 'archive', 'scp', 'ssh', 'ssh', 'delete']
  assert shell.runs == 2
