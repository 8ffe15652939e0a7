"""The event-driven softcore bench: Python looks only at the cycles the SoC's ``wake`` flags and those
the environment has something due in, and judges every run exactly as the per-cycle bench does."""

import random
import subprocess
import sys

import pytest

from conftest import ROOT
from py_model.hardware import EXIT, GUEST, HOST, SEAMCALL
from tb.sim.verilator import run_test
from tb.stimulus.catalog import planned
from tb.stimulus.softcore import EnvPlayer, Handler, NotApplicable, softcore_case

ROW_KEYS = ("scenario", "ok", "failure", "cycles", "transactions", "checks", "outcome", "events", "timed",
            "instructions", "done_value")


def _cases():
    cases = []
    for scenario in planned("library", 1, ())[0]:
        try:
            cases.append(softcore_case(scenario))
        except NotApplicable:
            pass
    return cases


def _play(case, script, sleep: bool, skipped: list | None = None):
    """The environment's pins over ``script`` (phase and HANDLER per cycle), played every cycle or, with
    ``sleep``, only where the phase or HANDLER changed or the player said it is due; the skipped
    cycles' pins are idle by construction (``skipped`` gets how many). Returns the pins of every cycle."""
    env, out, t = EnvPlayer(case), [], 0
    while t < len(script):
        phase, handler = script[t]
        out.append(env.cycle(phase, handler))
        quiet = env.quiet_for(phase)
        if not sleep or quiet == 0 or EnvPlayer.strobes(out[-1]):
            t += 1
            continue
        horizon = len(script) if quiet is None else t + 1 + quiet
        nxt = t + 1
        while nxt < min(horizon, len(script)) and script[nxt] == script[t]:
            nxt += 1  # a sleeping bench wakes where the phase or HANDLER changes
        env.skip(nxt - t - 1)
        out += [dict(EnvPlayer.IDLE)] * (nxt - t - 1)
        if skipped is not None:
            skipped.append(nxt - t - 1)
        t = nxt
    return out


def test_the_environment_asleep_plays_what_it_plays_awake():
    """EnvPlayer.quiet_for/skip against the per-cycle player, on every library case and random phase
    and HANDLER histories: the same pins in every cycle."""
    rng, skipped = random.Random(7), []
    for case in _cases():
        for _ in range(5):
            script, phase, handler = [], HOST, Handler()
            while len(script) < 600:
                phase = rng.choice([HOST, SEAMCALL, GUEST, EXIT]) if rng.random() < 0.3 else phase
                if rng.random() < 0.1:
                    handler = Handler(rng.random() < 0.5, rng.randrange(3), rng.randrange(64), rng.randrange(64))
                script += [(phase, handler)] * rng.randrange(1, 40)
            assert _play(case, script, sleep=True, skipped=skipped) == _play(case, script, sleep=False), \
                case.scenario.name
    assert sum(skipped) > 100_000, sum(skipped)  # the player did sleep, through waits and untils alike


def test_a_skip_past_the_wait_is_refused():
    case = next(c for c in _cases() if any(kind == "wait" for kind, _ in c.steps))
    env = EnvPlayer(case)
    for _ in range(10_000):
        env.cycle(HOST, Handler())
        if env.quiet_for(HOST):
            break
    with pytest.raises(ValueError, match="past the wait"):
        env.skip(env.quiet_for(HOST) + 1)


def test_a_soc_defect_is_refused_outside_softcore_mode():
    proc = subprocess.run([sys.executable, "-m", "tb.flows.runner", "sim", "nmi_seamret", "--bug",
                           "soc_wake_ignores_cpu"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "MODE=softcore" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("test", ["library", "nmi_seamret"])
def test_event_driven_softcore_gives_the_per_cycle_rows(test):
    """Every row, event by event, the same as when Python looks at every cycle; Python looks at a
    small part of the cycles."""
    asleep = run_test(test, 1, quiet=True, mode="softcore")
    awake = run_test(test, 1, quiet=True, mode="softcore", strict=True)
    assert asleep["error"] is None and awake["error"] is None, (asleep["error"], awake["error"])
    assert (asleep["bench"], awake["bench"]) == ("event-driven", "per-cycle")
    assert [{k: r.get(k) for k in ROW_KEYS} for r in asleep["runs"]] == [{k: r.get(k) for k in ROW_KEYS}
                                                                        for r in awake["runs"]]
    assert asleep["not_applicable"] == awake["not_applicable"]
    assert awake["visited_cycles"] >= asleep["cycles"] and asleep["visited_cycles"] * 5 < asleep["cycles"]


def test_a_wake_that_misses_the_cpu_is_caught_where_the_bench_sleeps_on_it():
    """soc_wake_ignores_cpu leaves the design alone and breaks only the wake: the per-cycle bench,
    which never reads it, passes; the event-driven one, which would sleep through the CPU's SEAMCALLs,
    fails on the hardware check instead of passing."""
    asleep = run_test("nmi_seamret", 1, quiet=True, mode="softcore", bugs=["soc_wake_ignores_cpu"])
    failed = [r for r in asleep["runs"] if not r["ok"]]
    assert failed and all("txn" in r["failure"] or "state #" in r["failure"] for r in failed), \
        [r["failure"] for r in failed][:3]
    awake = run_test("nmi_seamret", 1, quiet=True, mode="softcore", bugs=["soc_wake_ignores_cpu"], strict=True)
    assert awake["error"] is None and all(r["ok"] for r in awake["runs"]), [r["failure"] for r in awake["runs"]][:3]


def test_a_run_that_does_not_finish_ends_with_the_per_cycle_row():
    """Under a bound the firmware cannot finish in, the event-driven bench looks at the last cycle as
    the per-cycle one does: the same failing rows, cycles included (it once stopped at its last wake)."""
    from py_model.config import run_cycle_bound, set_run_cycle_bound

    saved = run_cycle_bound()
    set_run_cycle_bound(3000)
    try:
        asleep = run_test("nmi_seamret", 1, quiet=True, mode="softcore")
        awake = run_test("nmi_seamret", 1, quiet=True, mode="softcore", strict=True)
    finally:
        set_run_cycle_bound(saved)
    timed_out = [r for r in asleep["runs"] if "did not finish within 3,000 cycles" in (r["failure"] or "")]
    assert timed_out and all(r["cycles"] == 3000 for r in timed_out)
    assert [{k: r.get(k) for k in ROW_KEYS} for r in asleep["runs"]] == [{k: r.get(k) for k in ROW_KEYS}
                                                                        for r in awake["runs"]]
