"""Errors that a user caused and can fix: one line, exit code 2, no traceback."""


class UserError(Exception):
  """A mistake in the command, config or data set, with a message saying how to fix it."""

  exit_code = 2
