"""launch.sweep: one workdir per grid point, points that differ only in seed (or learning rate)
trained together as members of one run, results sorted by the metric, a rerun trains nothing."""

import json

import pytest

from launch import sweep

CONFIG = 'experiments/zoo/cnn_digits.py:tiny'
GRID = ['--grid', 'seed=0,1', '--grid', 'model.dropout=0.0,0.2']
NAMES = ['seed=0,model.dropout=0.0', 'seed=0,model.dropout=0.2', 'seed=1,model.dropout=0.0',
         'seed=1,model.dropout=0.2']


def _argv(workdir, *extra):
  return ['--config', CONFIG, '--workdir', str(workdir), *GRID, '--config.num_steps=20',
          '--config.eval_every=0', '--config.ckpt_every=0', '--config.plots=False', *extra]


def test_dry_run_prints_a_tpu_vm_command_per_group_naming_each_point(tmp_path, capsys):
  code = sweep.main(_argv(tmp_path / 'sweep', '--tpu_vm', 'nnzoo-1', '--zone', 'us-west4-a',
                          '--dry-run'))
  out = capsys.readouterr().out
  assert code == 0, out
  for name in NAMES:
    assert f'# point {name} (member ' in out, name
  commands = [line for line in out.splitlines() if line.startswith('gcloud ')]
  # Two processes: each dropout's two seeds train together.
  assert len(commands) == 2, out
  for command, dropout in zip(commands, ('0.0', '0.2')):
    assert command.startswith('gcloud compute tpus tpu-vm ssh nnzoo-1 --zone=us-west4-a '
                              '--worker=all'), command
    assert 'python -m train --distributed --config experiments/zoo/cnn_digits.py:tiny' in command
    assert f'--config.model.dropout={dropout}' in command and "'--config.vmap.seeds=(0, 1,)'" in (
        command)
  assert not (tmp_path / 'sweep').exists()


def test_a_mistyped_grid_key_names_the_nearest_valid_ones(tmp_path, capsys):
  code = sweep.main(['--config', CONFIG, '--workdir', str(tmp_path), '--grid',
                     'optimizer.lr=0.1,0.2', '--dry-run'])
  err = capsys.readouterr().err.strip().splitlines()
  assert code == 2 and len(err) == 1, err
  assert "unknown config key 'optimizer.lr'" in err[0] and 'optimizer.learning_rate' in err[0]


@pytest.mark.slow
def test_grid_trains_each_point_once_and_ranks_them(data_dir, tmp_path, capsys):
  del data_dir   # built into the session's data dir, which the runs' processes inherit
  root = tmp_path / 'sweep'
  assert sweep.main(_argv(root, '--local')) == 0
  out = capsys.readouterr().out
  assert '4 points, 0 finished before, 4 trained' in out, out
  assert len(list((root / 'members').iterdir())) == 2   # two processes, two members each
  for name in NAMES:
    summary = json.loads((root / name / 'summary.json').read_text())
    config = json.loads((root / name / 'config.json').read_text())
    assert summary['step'] == 20 and not config['vmap']['seeds']
    assert config['seed'] == int(name[5]) and config['model']['dropout'] == float(name[-3:])
    assert any(r['split'] == 'eval' for r in map(json.loads, (root / name / 'metrics.jsonl')
                                                 .read_text().splitlines()))
  rows = [json.loads(line) for line in (root / 'sweep.jsonl').read_text().splitlines()]
  assert sorted(r['point'] for r in rows) == sorted(NAMES)
  values = [r['value'] for r in rows]
  assert values == sorted(values, reverse=True) and all(0 <= v <= 1 for v in values)
  for r in rows:   # eval/accuracy: the accuracy of the point's last eval row
    last = [json.loads(line) for line in (root / r['point'] / 'metrics.jsonl').read_text()
            .splitlines() if json.loads(line)['split'] == 'eval'][-1]
    assert r['value'] == last['accuracy'] and r['step'] == 20
  table = (root / 'sweep.md').read_text().splitlines()
  assert len(table) == 6 and [line.split(' | ')[-1].rstrip(' |') for line in table[2:]] == [
      r['point'] for r in rows]
  before = {n: (root / n / 'metrics.jsonl').stat().st_mtime_ns for n in NAMES}
  assert sweep.main(_argv(root, '--local')) == 0
  assert '4 points, 4 finished before, 0 trained' in capsys.readouterr().out
  assert before == {n: (root / n / 'metrics.jsonl').stat().st_mtime_ns for n in NAMES}
  assert len(list((root / 'members').iterdir())) == 2
