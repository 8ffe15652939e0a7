"""The event-driven interactive bench against its per-cycle reference (STRICT=1).

The default bench lets the simulator run through stretches in which the session only counts and
samples only cycles after an edge that raised ``trace.wake``; ``make formal`` proves the state
changes only then (``state_changes_only_at_wake``). These tests show the two modes give the same
rows, and that the event-driven monitor depends on that property: a design whose ``wake`` misses a
state change fails in event mode (and in formal) while the per-cycle bench cannot see it. (The
checker's sparse sampling alone: ``tests/tb/check/test_sparse_sampling.py``.)
"""

import pytest

from tb.sim.verilator import run_test


def rows(report):
    keys = ("scenario", "seed", "ok", "failure", "cycles", "transactions", "verdict", "outcome")
    return [{k: r[k] for k in keys} for r in report["runs"]]


@pytest.mark.parametrize("test,seed", [("library", 1), ("random", 7), ("nmi_seamret", 1), ("host_state", 1)])
def test_event_driven_gives_the_per_cycle_rows(test, seed):
    event = run_test(test, seed, quiet=True)
    strict = run_test(test, seed, quiet=True, strict=True)
    assert event["error"] is None and strict["error"] is None, (event["error"], strict["error"])
    assert len(event["runs"]) == event["expected_runs"] > 0
    assert rows(event) == rows(strict)


def test_bench_workload_gives_the_per_cycle_rows():
    event = run_test("bench", 1, quiet=True)
    strict = run_test("bench", 1, quiet=True, strict=True)
    assert event["error"] is None and rows(event) == rows(strict)
    assert event["cycles"] > 100_000


def test_a_wake_that_misses_a_state_change_fails_only_the_event_driven_bench():
    event = run_test("nmi_seamret", 1, quiet=True, bugs=["wake_ignores_phase"])
    failed = [r for r in event["runs"] if not r["ok"]]
    assert event["error"] is not None and failed
    assert "state #2: reference @5 phase=2" in failed[0]["failure"], failed[0]["failure"]
    # The per-cycle bench never reads trace.wake: it passes, which is why formal must prove it.
    assert run_test("nmi_seamret", 1, quiet=True, bugs=["wake_ignores_phase"], strict=True)["error"] is None
