"""Run a catalog test on a board, real (serial port) or virtual (pty), and report like the other benches."""

from __future__ import annotations

import time

from tb.benches.board_driver import BoardError, BoardLink
from tb.check.program_check import program_row
from tb.protocol.program import ProgramError, compile_scenario
from tb.stimulus.catalog import planned


def run_on_board(test: str, seed: int, link: BoardLink, files=()) -> dict:
    """A catalog test, or scenario files when ``test`` is "scenario"."""
    scenarios, verdict = planned(test, seed, files)
    start = time.perf_counter()
    limits = link.identify()
    rows, cycles, error = [], 0, None
    for scenario in scenarios:
        try:
            compiled = compile_scenario(scenario, program_depth=limits["program_words"], host_state=False)
            problem = link.run_program(compiled, limits)
        except ProgramError as err:
            rows.append(program_row(scenario, None, str(err)))
            continue
        except BoardError as err:
            rows.append(program_row(scenario, None, str(err)))
            error = str(err)
            break  # the link is not trusted any more: stop, never report what came after
        cycles += compiled.cycles
        rows.append(program_row(scenario, compiled, problem, compiled.cycles, verdict))
    seconds = time.perf_counter() - start
    return {"test": test, "seed": seed, "runs": rows, "expected_runs": len(scenarios), "seconds": seconds,
            "cycles": cycles, "wall_seconds": seconds, "error": error, "link": dict(link.stats),
            "log": "(board)", "results_xml": None}
