"""train/host_memory.py: with the entry points' malloc settings, XLA:CPU's per-step temporaries stop
costing fresh page faults every step."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A scan whose stacked outputs (200 x 128k floats = 100 MB) are a temporary of every call, as the
# LSTM's are; prints the minor page faults of 10 calls after 60 (the heap grows to its steady size,
# a few times the block, within about 50).
SCRIPT = r'''
import resource
from train import host_memory
print('applied', host_memory.retain_freed_memory())
import jax, jax.numpy as jnp
f = jax.jit(lambda x: jax.lax.scan(lambda c, _: (c + 1, c * 2), x, None, length=200)[1][::50])
x = jnp.ones(128 * 1024)
for _ in range(60):
  jax.block_until_ready(f(x))
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
  jax.block_until_ready(f(x))
print('faults', resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
'''


def _faults(**env):
  env = {**os.environ, 'XLA_FLAGS': '', **env}
  out = subprocess.run([sys.executable, '-c', SCRIPT], cwd=ROOT, env=env, capture_output=True,
                       text=True, check=True).stdout.split()
  return out[1] == 'True', int(out[3])


@pytest.mark.slow  # 10-35 s: in CI (.ci/run), out of the 10-minute default run
def test_retained_memory_ends_the_per_step_page_faults():
  applied, retained = _faults()
  opted_out, system = _faults(NNZOO_SYSTEM_MALLOC='1')
  assert applied and not opted_out
  # glibc's default maps the 100 MB temporary afresh each call: ~25,000 faults a call.
  assert system > 10 * 10_000, system
  assert retained < system / 10, (retained, system)
