"""Errors that a user caused and can fix: one line, exit code 2, no traceback. Anything else that
escapes a command is a bug in nnzoo: one line that says so, then the traceback, exit code 1."""

import argparse
import sys
import traceback


class UserError(Exception):
  """A mistake in the command, config or data set, with a message saying how to fix it."""

  exit_code = 2


BUG_EXIT_CODE = 1


def report_bug(e: BaseException, file=None) -> int:
  """Prints that `e` is an internal error (a bug, not the user's input) in one line, then its
  traceback for the report; returns the exit code (1)."""
  file = file or sys.stderr
  text = str(e).strip().splitlines()
  message = f'{type(e).__name__}: {text[0][:300]}' if text else type(e).__name__
  print(f'nnzoo: internal error (a bug): {message} — please report it with the traceback below',
        file=file, flush=True)
  traceback.print_exception(e, file=file)
  file.flush()
  return BUG_EXIT_CODE


class ArgumentParser(argparse.ArgumentParser):
  """argparse's parser, but a bad command line stops with one line (exit 2) instead of the usage
  block and then the error: `--help` shows the usage."""

  def error(self, message):
    self.exit(2, f'{self.prog}: error: {message} (--help shows the usage)\n')
