"""Which share of a long check list this commit runs in CI: the list is cut into groups that each
fit a time budget, and the commit hash picks one group, so successive commits check different
groups and every item comes round within a few commits. A test helper."""

import os
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def commit_hash() -> str:
  """$NNZOO_COMMIT, else git's HEAD of this checkout, else '0'."""
  if os.environ.get('NNZOO_COMMIT'):
    return os.environ['NNZOO_COMMIT']
  try:
    r = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=REPO, capture_output=True, text=True,
                       timeout=30)
  except (OSError, subprocess.TimeoutExpired):
    return '0'
  return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else '0'


def groups(items, cost, budget) -> list[list]:
  """`items` (in their order) packed first-fit into groups whose summed cost(item) is at most
  `budget`; an item that alone exceeds the budget is in no group."""
  out, totals = [], []
  for item in items:
    c = cost(item)
    if c > budget:
      continue
    for i, total in enumerate(totals):
      if total + c <= budget:
        out[i].append(item)
        totals[i] += c
        break
    else:
      out.append([item])
      totals.append(c)
  return out


def pick(groups_, commit: str | None = None) -> int:
  """The index of the group this commit runs."""
  commit = commit or commit_hash()
  try:
    value = int(commit[:12], 16)
  except ValueError:
    value = sum(map(ord, commit))
  return value % len(groups_) if groups_ else 0


def share(items, env: str = 'NNZOO_CI_SHARE') -> list:
  """All of `items`; with $NNZOO_CI_SHARE=K (K > 1, set by .ci/run), the one of K interleaved
  slices that this commit picks: a long parametrized check whose every case CI still reaches
  within a few commits."""
  items = list(items)
  k = int(os.environ.get(env, '0') or 0)
  if k <= 1:
    return items
  return items[pick([None] * k)::k]
