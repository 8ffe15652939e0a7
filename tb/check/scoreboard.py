"""Scoreboard: the DUT's transaction and state streams against the reference's prediction.

Plain Python (no simulator import), fed item by item by any bench: the pyuvm scoreboard
component, the amaranth.sim bench, the board runner.
"""

from __future__ import annotations

import logging
from collections import deque

# A mismatch is logged at ERROR the moment it is found (a simulator's log shows it at its time); the
# run's verdict comes later, from ``finish`` and the bench.
log = logging.getLogger("tb.check.scoreboard")


class Mismatch(AssertionError):
    """The DUT and the reference disagree; the message names the first difference."""


class Scoreboard:
    """Compares two in-order streams per channel ("txn", "state", "regs") as items arrive.

    Parameters
    ----------
    label : str
        Named in every message (the test, configuration and seed).
    stop_on_first : bool
        Raise ``Mismatch`` at the first difference (default); else record them all.
    """

    def __init__(self, label: str = "", stop_on_first: bool = True):
        self.label = label
        self.stop_on_first = stop_on_first
        self.pending = {"txn": (deque(), deque()), "state": (deque(), deque()), "regs": (deque(), deque())}
        self.compared = {"txn": 0, "state": 0, "regs": 0}
        self.mismatches: list[str] = []
        self.first_cycle: int | None = None  # the cycle of the first difference (the earlier side's)

    def expect(self, channel: str, item) -> None:
        self._add(channel, 0, item)

    def observe(self, channel: str, item) -> None:
        self._add(channel, 1, item)

    def _add(self, channel, side, item) -> None:
        queues = self.pending[channel]
        queues[side].append(item)
        while queues[0] and queues[1]:
            expected, actual = queues[0].popleft(), queues[1].popleft()
            index = self.compared[channel]
            self.compared[channel] += 1
            if expected != actual:
                detail = expected.diff(actual) if hasattr(expected, "diff") else \
                    f"reference {_show(expected)} | rtl {_show(actual)}"
                if self.first_cycle is None:
                    self.first_cycle = min(_cycle(expected), _cycle(actual))
                self._fail(f"{channel} #{index}: {detail}")

    def finish(self) -> None:
        """Everything predicted was observed and nothing more."""
        for channel, (expected, actual) in self.pending.items():
            if self.first_cycle is None and (expected or actual):
                self.first_cycle = _cycle((expected or actual)[0])
            if expected:
                self._fail(f"{channel}: the rtl never produced {_show(expected[0])} ({len(expected)} missing)")
            if actual:
                self._fail(f"{channel}: the rtl produced unpredicted {_show(actual[0])} ({len(actual)} extra)")
        if self.mismatches:
            raise Mismatch(self.mismatches[0])

    def _fail(self, message: str) -> None:
        message = f"{self.label}: {message}" if self.label else message
        if not self.mismatches:
            log.error("first difference: %s", message)
        self.mismatches.append(message)
        if self.stop_on_first:
            raise Mismatch(message)


def _show(item) -> str:
    return str(item)


def _cycle(item) -> int:
    """The cycle an item is stamped with: a transaction's edge, a sample's cycle."""
    return item.cycle if hasattr(item, "cycle") else item[0]
