"""How every command line of the project ends: one line and an exit status, never a traceback.

``run_command(body)`` wraps an entry point's work (``python -m py_model``, and every ``tb.flows``
command through ``tb/flows/cli.py``):

======  ===================================================================================
status  meaning
======  ===================================================================================
0, 1    what ``body`` returned (1: a check failed, or an expected failure: ``CommandError``,
        ``OSError`` such as a full disk or a missing tool, each as one line)
2       a bad argument (``UsageError``, or the argument parser's one-line error)
3       an internal error: one line on screen, the traceback in ``build/internal-error.log``
130     interrupted (Ctrl-C or SIGTERM): the command's own message says what was kept
======  ===================================================================================

It lives in ``py_model`` (the lowest layer, which the model's own command line needs without ``tb``).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INTERNAL_ERROR_LOG = ROOT / "build" / "internal-error.log"


class UsageError(Exception):
    """A bad argument: one line naming it, exit status 2, nothing run and nothing overwritten."""


class CommandError(Exception):
    """An expected failure (a tool that did not build, a board that stopped answering): one line, exit 1."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, with its errors as one line naming the argument (exit status 2)."""

    def error(self, message):
        print(f"{self.prog}: {message}", file=sys.stderr)
        raise SystemExit(2)


def run_command(body: Callable[[], int],
                interrupted: str = "the command was stopped; nothing was reported as passing",
                on_interrupt: Callable[[], None] | None = None) -> int:
    """Run ``body`` with the project's signals and failure handling; return the exit status."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def raise_interrupt(signum, frame):
        if on_interrupt is not None:
            on_interrupt()  # e.g. stop a simulator first (``timeout`` forwards SIGTERM to it)
        raise KeyboardInterrupt

    # Also when SIGINT was inherited ignored (a background job of a non-interactive shell).
    for sig in previous:
        signal.signal(sig, raise_interrupt)
    try:
        return body()
    except KeyboardInterrupt:
        print(f"\nINTERRUPTED: {interrupted}", file=sys.stderr)
        return 130
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except CommandError as err:
        print(f"error: {one_line(err)}", file=sys.stderr)
        return 1
    except OSError as err:  # a read-only or full disk, a missing tool, an OUT= that cannot take the result
        if type(err).__str__ is not OSError.__str__:  # a message of its own (py_model.atomic.OutputError)
            print(f"error: {err}", file=sys.stderr)
        else:
            where = f" {err.filename}" if err.filename else ""
            print(f"error: cannot use{where}: {err.strerror or err}", file=sys.stderr)
        return 1
    except Exception as err:  # noqa: BLE001 - the one place an unexpected error becomes one line
        print(f"internal error: {type(err).__name__}: {one_line(err)}{_keep_traceback()}", file=sys.stderr)
        return 3
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def one_line(err: BaseException) -> str:
    """An error's message on one line: a tool's long output ends in the line that says what failed."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    if len(lines) <= 1:
        return lines[0] if lines else type(err).__name__
    return f"{lines[0]} ... {lines[-1]}"


def children_of(pid: int) -> list[int]:
    """The direct children of a process (from /proc), to stop before unwinding."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:  # field 4 of stat, after the command name: the parent pid
            out.append(int(stat.parent.name))
    return out


def stop_children() -> None:
    for child in children_of(os.getpid()):
        try:
            os.kill(child, signal.SIGTERM)
        except ProcessLookupError:
            pass


def _keep_traceback() -> str:
    try:
        INTERNAL_ERROR_LOG.parent.mkdir(parents=True, exist_ok=True)
        INTERNAL_ERROR_LOG.write_text(traceback.format_exc())
        return f"; full traceback in {INTERNAL_ERROR_LOG.relative_to(ROOT)}"
    except OSError:
        return ""
