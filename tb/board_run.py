"""Run a catalog test on a board, real (serial port) or virtual (pty), and report like the other benches."""

from __future__ import annotations

import time

from .board_driver import BoardError, BoardLink
from .catalog import TESTS
from .program import ProgramError, compile_scenario


def run_on_board(test: str, seed: int, link: BoardLink) -> dict:
    spec = TESTS[test]
    scenarios = spec.scenarios(seed)
    start = time.perf_counter()
    limits = link.identify()
    rows, cycles, error = [], 0, None
    for scenario in scenarios:
        row = {"scenario": scenario.name, "config": scenario.config.to_json(), "ok": False, "cycles": 0,
               "transactions": 0, "verdict": None, "host_state_config": None, "outcome": None}
        try:
            compiled = compile_scenario(scenario, program_depth=limits["program_words"], host_state=False)
            problem = link.run_program(compiled, limits)
        except (ProgramError, BoardError) as err:
            row["failure"] = str(err)
            rows.append(row)
            if isinstance(err, BoardError):
                error = str(err)
                break  # the link is not trusted any more: stop, never report what came after
            continue
        verdict = spec.verdict(scenario, compiled.outcome) if spec.verdict and not problem else None
        if verdict is not None and not verdict.ok:
            problem = f"{scenario.name}: {verdict.message}"
        cycles += compiled.cycles
        row.update(ok=problem is None, failure=problem, cycles=compiled.cycles, transactions=len(compiled.trace),
                   verdict=verdict.columns if verdict else None, outcome=compiled.outcome.to_json())
        rows.append(row)
    seconds = time.perf_counter() - start
    return {"test": test, "seed": seed, "runs": rows, "expected_runs": len(scenarios), "seconds": seconds,
            "cycles": cycles, "wall_seconds": seconds, "error": error, "link": dict(link.stats),
            "log": "(board)", "results_xml": None}
