"""Exhaustive exploration: every placement of up to N NMIs in every configuration of SPEC §6.

A placement gives each NMI a vector and the phase it arrives in: in the host before KVM
enters, in SEAM root before VM entry, in the TD, in SEAM root after the exit, or inside a
handler pass after SEAMRET. NMIs of one phase arrive on consecutive cycles in the order
given. Runs with a fault put it in SEAM root before SEAMRET (between SEAMRET and KVM's pass
under ``late``; deferred to the end of the region under ``noinstr``).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

from .config import Config
from .run import run_model
from .scenario import Scenario

PHASES = ("host", "seam_pre", "guest", "seam_post", "handler")
VECTORS = (0, 2, 3, 5)
ENTRY_VARIANTS = (("idt", False), ("fred", False), ("fred", True))


def configurations():
    """Every (config, fault) pair: module x kvm x entry/NMI-source x fault."""
    for module, kvm, (entry, ns), fault in itertools.product(
            ("legacy", "fixed"), ("noinstr", "late"), ENTRY_VARIANTS, (False, True)):
        yield Config(module=module, kvm=kvm, entry=entry, nmi_source=ns), fault


def placements(max_nmis: int, vectors=VECTORS):
    """Tuples of (phase, vector) in arrival order; phases never go backwards."""
    slots = [(p, v) for p in range(len(PHASES)) for v in vectors]
    for n in range(max_nmis + 1):
        for combo in itertools.product(slots, repeat=n):
            if all(a[0] <= b[0] for a, b in zip(combo, combo[1:], strict=False)):
                yield tuple((PHASES[p], v) for p, v in combo)


def timeline(placement, fault: bool, handler_until: str = "handler") -> list[tuple[str, object]] | None:
    """The timeline for one placement, or None where it cannot happen (no pass to land in).
    ``handler_until``: the anchor of the handler phase (``handler``, or ``polled``: every handler-phase
    arrival after the innermost pass's poll, and every host arrival after the first likewise)."""
    by_phase = {p: [v for q, v in placement if q == p] for p in PHASES}
    if by_phase["handler"] and not (by_phase["seam_pre"] or by_phase["guest"] or by_phase["seam_post"]):
        return None  # no pass runs after SEAMRET to land in
    def nmis(phase):
        return [("nmi", v) for v in by_phase[phase]]
    if handler_until == "polled":  # every host-run arrival placed by a phase anchor, none by time
        def anchored(vectors):
            return [step for v in vectors for step in (("until", "polled"), ("nmi", v))]
        def nmis(phase):
            vectors = by_phase[phase]
            if phase == "host":
                return [("nmi", v) for v in vectors[:1]] + anchored(vectors[1:])
            return anchored(vectors) if phase == "handler" else [("nmi", v) for v in vectors]
    steps = nmis("host") + [("enter", None), ("until", "seam_root")] + nmis("seam_pre")
    steps.append(("until", "guest"))
    if by_phase["guest"]:
        steps += nmis("guest")
    elif not by_phase["seam_pre"]:
        steps.append(("exit", "tdvmcall"))  # a latched pre-entry NMI exits the TD by itself
    if by_phase["seam_post"] or fault:
        steps.append(("until", "seam_root"))
    steps += nmis("seam_post")
    if fault:
        steps.append(("fault", None))
    if by_phase["handler"]:
        steps += ([] if handler_until == "polled" else [("until", handler_until)]) + nmis("handler")
    steps += [("until", "host"), ("wait", 30)]
    return steps


@dataclass
class Row:
    config: Config
    fault: bool
    tried: int = 0
    inversion: int = 0
    unknown: int = 0
    lost: int = 0
    lost_events: int = 0
    unknown_causes: dict = None
    examples: dict = None

    def label(self) -> str:
        return self.config.label() + (" +fault" if self.fault else "")


def explore(max_nmis: int = 3, on_row=None) -> tuple[list[Row], float, int]:
    rows, runs, start = [], 0, time.perf_counter()
    cases = [(p, f) for p in placements(max_nmis) for f in (False, True)]
    steps_for = {(p, f): timeline(p, f) for p, f in cases}
    for config, fault in configurations():
        row = Row(config, fault, unknown_causes={}, examples={})
        for placement in placements(max_nmis):
            steps = steps_for[(placement, fault)]
            if steps is None:
                continue
            outcome = run_model(Scenario("explore", config, steps))
            row.tried += 1
            row.inversion += outcome.inversions > 0
            if outcome.counts["unknown"]:
                row.unknown += 1
                cause = unknown_cause(placement)
                row.unknown_causes[cause] = row.unknown_causes.get(cause, 0) + 1
                row.examples.setdefault(cause, placement)
            row.lost += outcome.lost > 0
            if outcome.lost_events:
                row.lost_events += 1
                external_only = all(outcome.arrival_vector[a] == 2 for a in outcome.lost_events)
                cause = ("lost event: external reason (vector 2) left pending, Linux reads the port only when no "
                         "local handler claimed" if external_only else "lost event: other")
                row.unknown_causes[cause] = row.unknown_causes.get(cause, 0) + 1
                row.examples.setdefault(cause, placement)
        runs += row.tried
        rows.append(row)
        if on_row:
            on_row(row)
    return rows, time.perf_counter() - start, runs


def ordered_by_design(config, fault: bool) -> bool:
    """SPEC §6: the configurations in which no placement may invert: the fixed module with KVM's
    pass in the noinstr region; or late, when nothing faults or when FRED keeps NMIs blocked
    across the fault's return (A1)."""
    return config.module == "fixed" and (config.kvm == "noinstr" or config.entry == "fred" or not fault)


def unknown_cause(placement) -> str:
    """Why an unknown NMI can be expected without any ordering bug (checked in order)."""
    vectors = [v for _, v in placement]
    if 0 in vectors:
        return "unknown NMI: vector 0 (no source, nothing can claim it)"
    if len(vectors) != len(set(vectors)):
        return "unknown NMI: same-vector coalescing (two NMIs, one status bit)"
    return "unknown NMI: other"


HEADER = ("config", "interleavings", "with inversion", "with unknown NMI", "with lost", "of which lost events")


def format_row(row: Row) -> tuple:
    return (row.label(), row.tried, row.inversion, row.unknown, row.lost, row.lost_events)


def main(max_nmis: int = 3, markdown: bool = False) -> int:
    print(f"exploring up to {max_nmis} NMIs x vectors {VECTORS} x phases {', '.join(PHASES)}")
    widths = [30, 13, 14, 16, 9, 20]
    if not markdown:
        print("  ".join(h.ljust(w) for h, w in zip(HEADER, widths, strict=True)))

    def show(row):
        if not markdown:
            print("  ".join(str(c).ljust(w) for c, w in zip(format_row(row), widths, strict=True)), flush=True)

    rows, seconds, runs = explore(max_nmis, show)
    if markdown:
        print("| " + " | ".join(HEADER) + " |")
        print("|" + "---|" * len(HEADER))
        for row in rows:
            print("| " + " | ".join(str(c) for c in format_row(row)) + " |")
    print(f"{runs} runs in {seconds:.1f} s: {runs / seconds:.0f} interleavings/s")
    for row in rows:
        if ordered_by_design(row.config, row.fault):
            causes = "; ".join(f"{n} x {cause}" for cause, n in sorted(row.unknown_causes.items()))
            print(f"{row.label()}: {causes or 'no unknown NMI, no lost event'}")
            for odd in ("unknown NMI: other", "lost event: other"):
                if odd in row.unknown_causes:
                    print(f"  example of {odd!r}: {row.examples[odd]}")
    return 0


# B6 with interrupt exits in play (td_exit_stepping.c: an interrupt exit starts stepping like an NMI
# exit, and is counted while stepping): the mitigation on, an interrupt exit placed in each way, and
# every placement of up to N NMIs in SEAM root (after the first exit: while the module steps, or before
# SEAMRET) and in the handler after its poll.
ZERO_STEP_KNOBS = {"steps": 3, "step": 3, "step_window": 4}
INTERRUPT_PLACEMENTS = {
    "none": "NMI X within the window starts stepping; no interrupt exit",
    "in_window": "an interrupt exit within the window starts stepping",
    "while_stepping": "NMI X starts stepping; an interrupt exit in the first single step is counted",
    "after_window": "an interrupt exit after the window is reported to KVM",
}


def zero_step_timeline(interrupt: str, stepping: list[int], exit_nmis: list[int], handler: list[int],
                       exit_wait: int = 0) -> list[tuple[str, object]]:
    """``stepping``: NMIs right after the first exit (while the module steps the TD); ``exit_nmis``: NMIs
    ``exit_wait`` cycles later, in SEAM root after the exit KVM sees; ``handler``: after the poll."""
    steps = [("enter", None), ("until", "guest")]
    if interrupt == "after_window":
        steps.append(("wait", ZERO_STEP_KNOBS["step_window"] + 2))
    steps.append(("exit", "interrupt") if interrupt in ("in_window", "after_window") else ("nmi", 3))
    steps.append(("until", "seam_root"))
    if interrupt == "while_stepping":
        steps.append(("exit", "interrupt"))
    steps += [("nmi", v) for v in stepping]
    if exit_nmis:
        steps += ([("wait", exit_wait)] if exit_wait else []) + [("nmi", v) for v in exit_nmis]
    steps += [step for v in handler for step in (("until", "polled"), ("nmi", v))]
    return steps + [("until", "host"), ("wait", 30)]


def _exit_wait(config: Config, interrupt: str, stepping: list[int]) -> int:
    """Cycles from the last stepping NMI to two cycles after the exit KVM sees (its SEAM-root work:
    SEAMRET is ``exit`` cycles later), read from the model's own run without the later NMIs."""
    trace = run_model(Scenario("probe", config, zero_step_timeline(interrupt, stepping, [], []))).trace
    start = next(t.cycle for t in trace if t.kind in ("step", "exit")) + 1  # `until: seam_root` holds from here
    reported = next(t.cycle for t in trace if t.kind == "exit")
    after_steps = start + len(stepping) + (1 if interrupt == "while_stepping" else 0)
    return max(reported + 2 - after_steps, 0)


def explore_zero_step(max_nmis: int = 2, on_row=None) -> tuple[list[tuple], int]:
    """Rows (config, interrupt placement, runs, with inversion, with unknown NMI, with lost)."""
    rows, runs = [], 0
    order = ("stepping", "exit", "handler")
    slots = [(where, v) for where in order for v in VECTORS]
    combos = [c for n in range(max_nmis + 1) for c in itertools.product(slots, repeat=n)
              if all(order.index(a[0]) <= order.index(b[0]) for a, b in zip(c, c[1:], strict=False))]
    for module, kvm, (entry, ns) in itertools.product(("legacy", "fixed"), ("noinstr", "late"), ENTRY_VARIANTS):
        config = Config(module=module, kvm=kvm, entry=entry, nmi_source=ns, **ZERO_STEP_KNOBS)
        for interrupt in INTERRUPT_PLACEMENTS:
            tried = inversion = unknown = lost = 0
            for combo in combos:
                by = {where: [v for w, v in combo if w == where] for where in order}
                if by["stepping"] and interrupt == "after_window":
                    continue  # nothing steps
                if by["handler"] and interrupt in ("in_window", "after_window") and not (by["stepping"] or by["exit"]):
                    continue  # no NMI pass runs to land in
                wait = _exit_wait(config, interrupt, by["stepping"]) if by["exit"] else 0
                outcome = run_model(Scenario("explore-b6", config, zero_step_timeline(
                    interrupt, by["stepping"], by["exit"], by["handler"], wait)))
                first = (1 if interrupt in ("none", "while_stepping") else 0) + len(by["stepping"])
                _check_placed(outcome.trace, first, by["exit"])
                tried += 1
                inversion += outcome.inversions > 0
                unknown += outcome.counts["unknown"] > 0
                lost += outcome.lost > 0
            row = (config.label(), interrupt, tried, inversion, unknown, lost)
            runs += tried
            rows.append(row)
            if on_row:
                on_row(row)
    return rows, runs


def _check_placed(trace, first: int, exit_nmis: list[int]) -> None:
    """The exit-slot NMIs arrived in SEAM root between the exit KVM sees and SEAMRET (else the table
    would count something other than what its header says)."""
    if not exit_nmis:
        return
    reported = next(t.cycle for t in trace if t.kind == "exit")
    seamret = next(t.cycle for t in trace if t.kind == "seamret")
    arrivals = [t.cycle for t in trace if t.kind == "nmi"][first:first + len(exit_nmis)]
    if not all(reported < c <= seamret for c in arrivals):
        raise AssertionError(f"explore --zero-step: NMIs placed at {arrivals}, outside SEAM root after the exit "
                             f"@{reported} and before SEAMRET @{seamret}")
ZERO_STEP_HEADER = ("config", "interrupt exit", "runs", "with inversion", "with unknown NMI", "with lost")


def main_zero_step(max_nmis: int = 2, markdown: bool = False) -> int:
    print(f"B6 with interrupt exits: mitigation {ZERO_STEP_KNOBS}, up to {max_nmis} NMIs x vectors {VECTORS} "
          "while the module steps, in SEAM root after the exit KVM sees, and in the handler after its poll")
    for name, meaning in INTERRUPT_PLACEMENTS.items():
        print(f"  {name}: {meaning}")
    widths = [40, 15, 6, 15, 17, 9]
    start = time.perf_counter()
    if markdown:
        print("| " + " | ".join(ZERO_STEP_HEADER) + " |")
        print("|" + "---|" * len(ZERO_STEP_HEADER))

    def show(row):
        if markdown:
            print("| " + " | ".join(str(c) for c in row) + " |", flush=True)
        else:
            print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)), flush=True)

    if not markdown:
        show(ZERO_STEP_HEADER)
    _, runs = explore_zero_step(max_nmis, show)
    print(f"{runs} runs in {time.perf_counter() - start:.1f} s")
    return 0
