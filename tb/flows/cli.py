"""What every command line shares: one-line argument errors (exit 2), OUT checks, fresh seeds."""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from py_model.atomic import out_problem

def fresh_seed() -> int:
    """A seed from the OS's entropy: two runs started in the same second differ."""
    return random.SystemRandom().randrange(1, 1_000_000)


def check_out_path(out: str) -> Path:
    """OUT must name a file we can create or replace: checked before any work is done."""
    problem = out_problem(Path(out))
    if problem:
        raise UsageError(f"OUT={out}: {problem}")
    return Path(out)


class UsageError(Exception):
    """A bad argument: one line naming it, exit status 2, nothing run and nothing overwritten."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, with its errors as one line naming the argument (exit status 2)."""

    def error(self, message):
        print(f"{self.prog}: {message}", file=sys.stderr)
        raise SystemExit(2)
