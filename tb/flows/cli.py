"""What every command line shares: ``run_command`` (one way every command fails: one line and an exit
status, see ``py_model/command.py``), one-line argument errors (exit 2), OUT checks, fresh seeds."""

from __future__ import annotations

import random
from pathlib import Path

from py_model.atomic import out_problem
from py_model.command import CommandError, OneLineParser, UsageError, run_command, stop_children

__all__ = ["CommandError", "OneLineParser", "UsageError", "check_out_path", "fresh_seed", "run_command", "stop_children"]

def fresh_seed() -> int:
    """A seed from the OS's entropy: two runs started in the same second differ."""
    return random.SystemRandom().randrange(1, 1_000_000)


def check_out_path(out: str) -> Path:
    """OUT must name a file we can create or replace: checked before any work is done."""
    problem = out_problem(Path(out))
    if problem:
        raise UsageError(f"OUT={out}: {problem}")
    return Path(out)

