"""Model speed on a long random timeline: simulated cycles/s, idle skipping against stepping.

    python -m py_model.bench [--entries N] [--seed S]

Both runs are in this process on the same timeline; the ratio is the figure to compare.
"""

from __future__ import annotations

import random
import time

from .config import Config
from .run import run_model
from .scenario import Scenario

LONG_BOUND = 10**8  # the long timeline runs far past the per-run bound that guards tests


def long_timeline(entries: int, seed: int) -> list[tuple[str, object]]:
    """``entries`` TD entries, each with NMIs in random phases and idle host stretches between."""
    rng = random.Random(seed)
    steps = []
    for _ in range(entries):
        steps += [("wait", rng.choice([0, 50, 500, 2000]))]
        if rng.random() < 0.3:
            steps += [("nmi", rng.choice([0, 3, 5]))]
        steps += [("enter", None), ("until", "guest"), ("wait", rng.randint(0, 300))]
        if rng.random() < 0.7:
            steps += [("nmi", rng.choice([1, 3, 4, 7]))]
            if rng.random() < 0.5:
                steps += [("until", "seam_root"), ("nmi", rng.choice([5, 6]))]
        else:
            steps += [("exit", rng.choice(["tdvmcall", "ept"]))]
        steps += [("until", "host")]
    return steps


def measure(scenario: Scenario, skip_idle: bool) -> tuple[int, float]:
    start = time.perf_counter()
    outcome = run_model(scenario, skip_idle=skip_idle, bound=LONG_BOUND)
    return outcome.cycles, time.perf_counter() - start


def main(entries: int = 400, seed: int = 1) -> int:
    """``python -m py_model bench [--entries N] [--seed S]`` (``make bench``)."""
    scenario = Scenario("bench", Config(module="fixed", kvm="noinstr", exit=20, handler=40),
                        long_timeline(entries, seed))
    cycles, stepped = measure(scenario, skip_idle=False)
    cycles_skip, skipped = measure(scenario, skip_idle=True)
    assert cycles == cycles_skip
    print(f"model, long random timeline: {entries} TD entries, {cycles:,} simulated cycles")
    print(f"  stepping every cycle: {cycles / stepped:12,.0f} cycles/s  ({stepped:.3f} s)")
    print(f"  skipping idle cycles: {cycles / skipped:12,.0f} cycles/s  ({skipped:.3f} s)")
    print(f"  ratio skip/step: {stepped / skipped:.1f}x")
    return 0
