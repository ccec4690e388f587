"""Compiled programs kept between runs (train/compile_cache.py): a second run of the same config
reads every program the first one wrote and trains to the same numbers; the switch turns it off."""

import json
import os
import subprocess
import sys

TINY = 'experiments/zoo/cnn_digits.py:tiny'


def _run(workdir, data_dir, cache_dir, **env):
  cmd = [sys.executable, '-m', 'train', '--config', TINY, '--workdir', str(workdir),
         '--config.num_steps=6', '--config.log_every=1', '--config.eval_every=3',
         f'--config.data.data_dir={data_dir}']
  env = dict(os.environ, NNZOO_DATA_DIR=data_dir, NNZOO_COMPILE_CACHE_DIR=str(cache_dir), **env)
  env.pop('JAX_COMPILATION_CACHE_DIR', None)
  r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
  assert r.returncode == 0, r.stderr[-2000:]
  rows = [json.loads(line) for line in (workdir / 'metrics.jsonl').read_text().splitlines()]
  return [(r['split'], r['step'], r.get('loss'), r.get('accuracy')) for r in rows]


def _entries(cache_dir):
  return sorted(str(p.relative_to(cache_dir)) for p in cache_dir.rglob('*') if p.is_file())


def test_a_second_run_reads_the_first_runs_programs(data_dir, tmp_path):
  cache = tmp_path / 'cache'
  first = _run(tmp_path / 'a', data_dir, cache)
  written = _entries(cache)
  assert len(written) >= 3, written        # train step, eval step, init at least
  from train import compile_cache         # in this CPU's own subdirectory
  assert {w.split('/')[0] for w in written} == {compile_cache.host_kind()}
  second = _run(tmp_path / 'b', data_dir, cache)
  assert _entries(cache) == written        # every program found: nothing new written
  assert second == first                   # the same numbers from the programs read back


def test_the_switch_and_a_users_own_cache_dir(tmp_path, monkeypatch):
  import jax
  from train import compile_cache
  monkeypatch.setenv('NNZOO_COMPILE_CACHE', '0')
  monkeypatch.setenv('NNZOO_COMPILE_CACHE_DIR', str(tmp_path / 'ours'))
  assert compile_cache.enable() is None and not (tmp_path / 'ours').exists()
  monkeypatch.setenv('NNZOO_COMPILE_CACHE', '1')
  before = jax.config.jax_compilation_cache_dir
  jax.config.update('jax_compilation_cache_dir', str(tmp_path / 'theirs'))
  try:
    assert compile_cache.enable() == str(tmp_path / 'theirs')   # the user's choice is kept
  finally:
    jax.config.update('jax_compilation_cache_dir', before)
  assert not (tmp_path / 'ours').exists()


def test_the_cache_is_trimmed_oldest_first(tmp_path):
  from train import compile_cache
  for i in range(10):                       # 10 entries of 100 bytes, entry 0 the oldest
    f = tmp_path / f'e{i}-cache'
    f.write_bytes(b'x' * 100)
    os.utime(f, (1000 + i, 1000 + i))
  assert compile_cache.trim(tmp_path, max_bytes=1000) == 0      # at the limit: kept
  assert compile_cache.trim(tmp_path, max_bytes=999) == 6       # down to half the limit
  assert sorted(p.name for p in tmp_path.iterdir()) == [f'e{i}-cache' for i in range(6, 10)]
