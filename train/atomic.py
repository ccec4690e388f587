"""Whole files of a workdir (config.json, summary.json, pictures, a rewritten metrics.jsonl) are
written to a temporary name beside them and renamed into place: a run killed mid-write leaves the
old file or the new one, never half of one that the next run (or a report) fails to read."""

import os

from etils import epath


def write(path, data: str | bytes) -> None:
  path = epath.Path(path)
  # Same directory, so the rename never crosses file systems; the pid keeps two writers apart.
  tmp = path.parent / f'.{path.name}.tmp-{os.getpid()}'
  if isinstance(data, str):
    tmp.write_text(data)
  else:
    tmp.write_bytes(data)
  # A POSIX rename is atomic; on gs:// it is a copy and a delete (an object appears whole anyway).
  tmp.replace(path)
