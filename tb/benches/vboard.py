"""The virtual board: the board gateware in a Verilator C++ harness behind a pseudo-terminal.

``VirtualBoard`` builds the harness once per RTL hash, starts it, and gives the pty path that the
same host driver as a real board opens.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tb import ROOT

SOURCE = ROOT / "tb" / "sim" / "harness" / "vboard_main.cpp"


def build(bugs=(), top: str | None = None) -> Path:
    """The virtual board for ``top``: program mode's board (the default) or the softcore's."""
    from rtl.generate import BOARD_CORE_NAME
    from tb.sim.harness.build import build_harness

    top = top or BOARD_CORE_NAME
    header = f'#pragma once\n#include "V{top}.h"\n#define BOARD_MODEL V{top}\n'
    return build_harness(top, SOURCE, "vboard" if top == BOARD_CORE_NAME else f"vboard_{top}", bugs, header=header)


class VirtualBoard:
    """A running virtual board; use as a context manager. ``path`` is its serial port."""

    def __init__(self, bugs=(), top: str | None = None):
        self.binary = build(bugs, top)
        self.proc = None
        self.path = None

    def __enter__(self) -> VirtualBoard:
        self.proc = subprocess.Popen([str(self.binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("PTY "):
            self.close()
            raise RuntimeError(f"the virtual board did not start: {line!r}")
        self.path = line[4:]
        return self

    def close(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.stdin.close()  # the harness stops when its stdin closes
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __exit__(self, *exc) -> None:
        self.close()
