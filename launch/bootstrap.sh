#!/usr/bin/env bash
# launch/bootstrap.sh: makes one Cloud TPU VM worker ready to run nnzoo at one commit.
#
#   bash bootstrap.sh ARCHIVE COMMIT [--wheels gs://BUCKET/wheels]
#
# `python -m launch.tpu_vm ... bootstrap` (and `up`) copies ARCHIVE (`git archive` of COMMIT) to
# every worker's home directory and runs this file from inside it, as the ssh user, on
# --worker=all. Its `#:` lines are what `--dry-run` prints; they say what it does, in order:
#
#: 1. unpack COMMIT into ~/nnzoo, replacing what was there, and write ~/nnzoo/COMMIT
#: 2. ~/nnzoo-venv/nnzoo-stamp says COMMIT and the same pyproject hash: reuse the venv, install nothing
#: 3. else check python3 against pyproject.toml's requires-python '>=X.Y'; where it is older (3.10
#:    on the Ubuntu 22.04 TPU images), get a uv-managed CPython X.Y, no root needed:
#:    python3 -m pip install --user uv && uv python install X.Y
#: 4. make ~/nnzoo-venv from that Python and pip install -e ~/nnzoo[tpu], with --wheels from a
#:    copy of gs://.../wheels/<key> where it holds them (else from PyPI, then fill it)
#: 5. write the stamp last, so the next bootstrap at this commit installs nothing
#
# Why uv for the interpreter: it is one `pip install --user` away on any image that has pip, needs
# no root, apt or PPA, and `uv python install` fetches a standalone CPython build
# (python-build-standalone, tens of MB, from GitHub) into ~/.local/share/uv/python. The venv is made from it with the standard `-m venv`,
# so the rest of the path is the same as on an image whose python3 is new enough.
#
# The `tpu` extra (pyproject.toml) holds gcsfs besides jax[tpu]: without TensorFlow, etils.epath
# (used by the engine, orbax and TFDS for the workdir and the data dir) reaches gs:// through fsspec,
# which needs gcsfs for it; gcsfs also brings google-cloud-storage, which tensorboardX needs to write
# events to gs://.
#
# Tested by tests/test_tpu_bootstrap.py with stub python3 / uv / pip / gcloud on PATH.
set -euo pipefail

ARCHIVE=${1:?usage: bootstrap.sh ARCHIVE COMMIT [--wheels gs://BUCKET/wheels]}
COMMIT=${2:?usage: bootstrap.sh ARCHIVE COMMIT [--wheels gs://BUCKET/wheels]}
shift 2
WHEELS=''
while [ $# -gt 0 ]; do
  case "$1" in
    --wheels) WHEELS=${2%/}; shift 2 ;;
    *) echo "bootstrap.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

SRC="$HOME/nnzoo"
VENV="$HOME/nnzoo-venv"
STAMP="$VENV/nnzoo-stamp"
EXTRAS='[tpu]'
say() { echo "bootstrap $(hostname): $*"; }
die() { echo "bootstrap $(hostname): FAIL: $*" >&2; exit 1; }

# 1. The source tree at COMMIT, exactly (anything a run wrote under ~/nnzoo goes: runs belong in
# their gs:// workdir).
rm -rf "$SRC"
mkdir -p "$SRC"
tar -xzf "$ARCHIVE" -C "$SRC"
echo "$COMMIT" > "$SRC/COMMIT"

# 2. Reuse. The key is what decides the installed packages: pyproject.toml and what is installed
# besides it. A new commit with the same key only refreshes the editable install (seconds).
KEY=$( (cat "$SRC/pyproject.toml"; echo "$EXTRAS") | sha256sum | cut -c1-16)
if [ -f "$STAMP" ] && [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
  if [ "$(cat "$STAMP")" = "commit $COMMIT pyproject $KEY" ]; then
    say "reusing $VENV: installed at $COMMIT with pyproject $KEY"
    exit 0
  fi
  if [ "$(sed 's/^commit [^ ]* //' "$STAMP")" = "pyproject $KEY" ]; then
    say "reusing $VENV (same pyproject $KEY): refreshing the editable install for $COMMIT"
    "$VENV/bin/pip" install -q --no-deps -e "$SRC"
    echo "commit $COMMIT pyproject $KEY" > "$STAMP"
    exit 0
  fi
fi

# 3. An interpreter that satisfies requires-python (only the '>=X.Y' part is read).
REQUIRES=$(sed -n 's/^requires-python *= *"\([^"]*\)".*/\1/p' "$SRC/pyproject.toml")
MIN=$(echo "$REQUIRES" | sed -n 's/.*>= *\([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p')
[ -n "$MIN" ] || die "cannot read a minimum version from requires-python = '$REQUIRES'"
version_of() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo 0.0; }
at_least() {   # at_least 3.10 3.11 -> false
  local a_major=${1%%.*} a_minor=${1#*.} b_major=${2%%.*} b_minor=${2#*.}
  [ "$a_major" -gt "$b_major" ] || { [ "$a_major" -eq "$b_major" ] && [ "$a_minor" -ge "$b_minor" ]; }
}

managed_python() {   # prints the path of a uv-managed CPython $MIN, installing uv and it as needed
  export PATH="$HOME/.local/bin:$PATH"
  if ! command -v uv >/dev/null; then
    # --user: no root. Newer pips refuse --user on an "externally managed" system Python (PEP 668)
    # unless told; older pips (Ubuntu 22.04's 22.0) do not know the flag, so it is the fallback.
    python3 -m pip install -q --user uv >&2 ||
      python3 -m pip install -q --user --break-system-packages uv >&2 ||
      die "cannot pip install --user uv (no pip for python3? sudo apt-get install -y python3-pip)"
  fi
  uv python install "$MIN" >&2 || die "uv python install $MIN failed"
  uv python find "$MIN"
}

rm -f "$STAMP"   # a venv that an install stopped halfway through must not pass for a complete one
PY=''
if command -v python3 >/dev/null; then
  HAVE=$(version_of python3)
  if at_least "$HAVE" "$MIN"; then
    PY=python3
    say "python3 is $HAVE: satisfies requires-python $REQUIRES"
  else
    say "python3 is $HAVE, older than requires-python $REQUIRES: getting CPython $MIN with uv"
  fi
else
  say "no python3 on PATH: getting CPython $MIN with uv"
fi

# 4. The venv. An existing one is kept (pip upgrades what changed) if its Python is new enough.
if [ -x "$VENV/bin/python" ] && at_least "$(version_of "$VENV/bin/python")" "$MIN"; then
  say "updating $VENV"
else
  rm -rf "$VENV"
  # Ubuntu's python3 makes no venv without the python3-venv package (root): then uv's Python does.
  if [ -z "$PY" ] || ! "$PY" -m venv "$VENV"; then
    [ -n "$PY" ] && say "python3 -m venv failed (no python3-venv?): getting CPython $MIN with uv"
    rm -rf "$VENV"
    PY=$(managed_python)
    "$PY" -m venv "$VENV" || die "$PY -m venv $VENV failed"
  fi
fi
PIP="$VENV/bin/pip"
PYVER=$(version_of "$VENV/bin/python")
# (No `pip install -U pip`: the pip that venv seeds on Python >= 3.11 installs editable projects.)

install_from_index() { "$PIP" install -q -e "$SRC$EXTRAS"; }
if [ -z "$WHEELS" ]; then
  say "installing nnzoo$EXTRAS into $VENV (Python $PYVER) from PyPI"
  install_from_index
else
  # Wheels depend on the Python version and on the dependency set: one folder per (version, key).
  # COMPLETE is written last, so a folder being filled (by another worker) is never read.
  REMOTE="$WHEELS/py$PYVER-$(uname -m)-$KEY"
  LOCAL="$HOME/nnzoo-wheels/py$PYVER-$(uname -m)-$KEY"
  mkdir -p "$LOCAL"
  if gcloud storage ls "$REMOTE/COMPLETE" >/dev/null 2>&1; then
    say "installing from the wheels in $REMOTE"
    gcloud storage cp "$REMOTE/*.whl" "$LOCAL/"
    "$PIP" install -q --no-index --find-links "$LOCAL" -e "$SRC$EXTRAS" ||
      { say "the wheels in $REMOTE did not suffice: installing from PyPI"; install_from_index; }
  else
    say "no wheels in $REMOTE yet: installing from PyPI, then filling it"
    install_from_index
    # From pip's cache, so no second download. setuptools and wheel: building the editable install
    # needs them, and --no-index finds nothing else.
    "$PIP" wheel -q -w "$LOCAL" "setuptools>=68" wheel "$SRC$EXTRAS" &&
      gcloud storage cp "$LOCAL"/*.whl "$REMOTE/" &&
      touch "$LOCAL/COMPLETE" && gcloud storage cp "$LOCAL/COMPLETE" "$REMOTE/COMPLETE" ||
      say "warning: could not fill $REMOTE (the install itself succeeded)"
  fi
fi

# 5. Done: the next bootstrap at this commit installs nothing.
echo "commit $COMMIT pyproject $KEY" > "$STAMP"
say "ready: $VENV (Python $PYVER), nnzoo at $COMMIT"
