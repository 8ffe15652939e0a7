"""Softcore mode on a board, virtual (the softcore board's gateware in Verilator behind a pty) or real
(a serial port): the same session as on the raw harness, over the UART bridge's frames.

Every wait is bounded: the run is polled through STATUS until it stops, within a wall-clock limit
from the bound; a link that failed ends the test there (the runs before it keep their rows, the
rest are never reported).
"""

from __future__ import annotations

import time

from tb.benches.board_driver import BoardError, BoardLink
from tb.protocol.softcore_session import ADDRESS, STATUS_BITS

# The slowest clock a board runs the core at, in cycles per second of wall time (the virtual board).
SLOWEST_CYCLES_PER_S = 50_000


class SoftcoreBoardPort:
    """The softcore core's register port over the UART bridge (a session's port)."""

    def __init__(self, link: BoardLink, poll_timeout: float = 10.0):
        self.link, self.poll_timeout = link, poll_timeout
        self.seconds = 0.0

    def write(self, addr: int, value: int) -> None:
        self.link.write(addr, value)

    def read(self, addr: int, count: int) -> list[int]:
        return self.link.read(addr, count)

    def run(self, bound: int) -> None:
        """Start the run (a retried start restarts it whole) and wait until it stops; the board
        cannot count instructions (None)."""
        self.link.write(ADDRESS["CTRL"], 1)
        start = time.monotonic()
        deadline = start + self.poll_timeout + bound / SLOWEST_CYCLES_PER_S
        while True:
            status, = self.link.read(ADDRESS["STATUS"])
            if not status & STATUS_BITS["running"]:
                break
            if time.monotonic() > deadline:
                raise BoardError(f"the run did not stop within {deadline - start:.0f} s")
            time.sleep(0.002)
        self.seconds += time.monotonic() - start
        return None


def run_on_board(test: str, seeds: list[int], link: BoardLink, files=(), firmware=None, bound=None) -> dict:
    """A catalog test (or scenario files) in softcore mode on a board; the report, with the rows of
    the other targets. A link failure is the report's ``error``."""
    from py_model.config import run_cycle_bound
    from tb.benches.softcore_harness import run_cases, softcore_cases
    from tb.sim.firmware import build_firmware, firmware_words

    start = time.perf_counter()
    bound = bound or run_cycle_bound()
    words = firmware_words(firmware or build_firmware(quiet=True))
    cases, skipped, per_seed = softcore_cases(test, seeds, files)
    port, rows, error = SoftcoreBoardPort(link), [], None

    def progress(index, total, row):
        rows.append(row)
        print(f"  {index}/{total} {row['scenario']}: {'PASS' if row['ok'] else 'FAIL'}", flush=True)

    try:
        run_cases(port, cases, words, bound, progress)
    except BoardError as err:
        error = f"board: {err}"
    return {"test": test, "seed": seeds[0], "seeds": list(seeds), "mode": "softcore", "runs": rows,
            "expected_runs": len(cases), "not_applicable": skipped,
            "expected_runs_per_seed": [[s, n] for s, n in per_seed.items()],
            "seconds": port.seconds, "cycles": sum(r["cycles"] for r in rows), "bench": "board trace",
            "visited_cycles": sum(r["records"] for r in rows), "instructions": None,
            "wall_seconds": time.perf_counter() - start, "error": error, "link": dict(link.stats), "log": "(board)"}
