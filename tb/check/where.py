"""Where a failing run's problem is in the waves: the run's number in its test, the cycle of the first
difference, the absolute simulation time and the dump that holds it.

Every bench that records waves knows when each run started (its cycle 0) and its clock period; the
checker knows the cycle. Plain Python: the benches, the runner and the regression all print the same
line from the same record.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

_STAMP = re.compile(r"@\s*(\d+)")


@dataclass
class Location:
    """A run's place in a test's simulation.

    Attributes
    ----------
    run, runs : int
        The run's number (1-based) and how many the test runs (the dump's ``tb_run`` signal shows it).
    start_ns : int
        Simulation time of the run's cycle 0.
    clock_ns : int
        The clock period: cycle ``c`` is at ``start_ns + c * clock_ns``.
    cycle : int or None
        The first difference's cycle within the run (None: the problem has no single cycle, e.g. an
        ``expect`` entry the whole outcome breaks).
    dump : str or None
        The wave dump, or None when the run recorded none.
    """

    run: int
    runs: int
    start_ns: int
    clock_ns: int
    cycle: int | None = None
    dump: str | None = None

    @property
    def time_ns(self) -> int:
        return self.start_ns + (self.cycle or 0) * self.clock_ns

    def to_json(self) -> dict:
        return {**asdict(self), "time_ns": self.time_ns}

    def text(self) -> str:
        where = (f"first difference at {self.time_ns:,} ns (cycle {self.cycle} of run {self.run}/{self.runs})"
                 if self.cycle is not None else
                 f"run {self.run}/{self.runs}, from {self.start_ns:,} ns (the problem has no single cycle)")
        return where + (f" in {self.dump}" if self.dump else " (no waves recorded: rerun with WAVES=1)")


def problem_cycle(scoreboard_cycle: int | None, violations: list[str]) -> int | None:
    """The cycle to point at: the scoreboard's first difference, else the first broken invariant's
    stamp (its message carries the edge as ``@N``)."""
    if scoreboard_cycle is not None:
        return scoreboard_cycle
    for violation in violations:
        found = _STAMP.search(violation)
        if found:
            return int(found.group(1))
    return None


def location_text(row: dict) -> str | None:
    """The line for a run row that carries a location (``where``), else None."""
    where = row.get("where")
    if not where:
        return None
    return Location(**{k: v for k, v in where.items() if k != "time_ns"}).text()
