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
