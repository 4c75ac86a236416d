"""User mistakes: one clear line on stderr, exit code 2, no traceback.

A mistake of the user's (a config value, a flag, a missing or corrupt data file, a mesh that does
not fit, a workdir in use or of another config) raises a `UserError` whose message names the value
and what to do. Command-line entry points run through `main_with_user_errors`, which prints that
message as `error: ...` and exits with 2; every other exception keeps its traceback.
`--traceback` on the command line, or RESEARCH_TRACEBACK=1 in the environment, shows the traceback
of a user error too.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

USAGE_EXIT_CODE = 2
TRACEBACK_FLAG = "--traceback"
TRACEBACK_ENV = "RESEARCH_TRACEBACK"


class UserError(Exception):
  """A mistake the user can fix; the message names the offending value and the fix."""


class ConfigError(UserError, ValueError):
  """A config value (or flag) that is unknown, of the wrong type or out of range."""


class DataError(UserError, FileNotFoundError):
  """Dataset files that are missing (with what to place where) or corrupt (with how to rebuild)."""


class WorkdirError(UserError):
  """A run or sweep directory that is in use, unwritable, or belongs to another config."""


class ArgumentParser(argparse.ArgumentParser):
  """argparse whose mistakes (an unknown flag, a missing or malformed value) are ConfigErrors: one line and
  exit code 2 through `main_with_user_errors`, instead of a usage block."""

  def error(self, message: str):
    raise ConfigError(f"{message}; `{self.prog} --help` lists the arguments.")


def one_line(message: str) -> str:
  """`message` with its lines joined, as the single line the user sees."""
  return " ".join(part.strip() for part in str(message).splitlines() if part.strip())


def wants_traceback(argv: Sequence[str]) -> bool:
  return TRACEBACK_FLAG in argv or os.environ.get(TRACEBACK_ENV, "") not in ("", "0")


def report(error: BaseException) -> None:
  """Prints a user error as `error: <message>` on stderr."""
  print(f"error: {one_line(error.args[0] if error.args else error)}", file=sys.stderr, flush=True)


def main_with_user_errors(main: Callable[[Sequence[str]], int | None], argv: Sequence[str]) -> int:
  """Runs `main(argv)`; a UserError ends as one line and exit code 2 (unless a traceback is asked for).

  `--traceback` is removed from argv before `main` sees it.
  """
  show = wants_traceback(argv)
  argv = [a for a in argv if a != TRACEBACK_FLAG]
  try:
    return main(argv) or 0
  except UserError as error:
    if show:
      raise
    report(error)
    return USAGE_EXIT_CODE
