"""Linux's NMI bookkeeping (arch/x86/kernel/nmi.c) and the NMI sources' status bits.

Pure software state; the host CPU model (``host.py``) decides when these run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NOT_RUNNING, EXECUTING, LATCHED = 0, 1, 2  # nmi_state (E1)
EXTERNAL_VECTOR = 2  # no local handler; stands for the port 0x61 SERR/IOCHK reason (E4)
HANDLED_VECTORS = tuple(v for v in range(1, 16) if v != EXTERNAL_VECTOR)


class NmiSources:
    """Per-source status bits: one pending event per vector 1..15 (binary, E4).

    Each set bit remembers which arrivals it stands for, so that a claim, or the end of a
    run, can say which arrivals were served or lost.
    """

    def __init__(self):
        self.covered: dict[int, list[int]] = {}  # vector -> arrival ids behind its set bit

    def raise_(self, vector: int, arrival: int) -> None:
        if 1 <= vector <= 15:  # vector 0 has no status bit
            self.covered.setdefault(vector, []).append(arrival)

    def pending(self) -> list[int]:
        return sorted(self.covered)

    def claim(self, vector: int) -> list[int]:
        """Clear ``vector``'s bit; return the arrivals it stood for (empty if it was clear)."""
        return self.covered.pop(vector, [])


@dataclass
class PassResult:
    result: str
    claimed: list[int]
    served: list[int] = field(default_factory=list)  # arrival ids whose events were claimed


@dataclass
class LinuxNmi:
    """Per-CPU Linux NMI state and counters (E1, E3, E4)."""

    nmi_source: bool = False
    nmi_state: int = NOT_RUNNING
    last_nmi_rip: str | None = None
    swallow_nmi: bool = False
    normal: int = 0
    unknown: int = 0
    swallow: int = 0
    external: int = 0

    def begin_pass(self, rip: str) -> bool:
        """E3, at the start of ``default_do_nmi``: the back-to-back test and its bookkeeping.

        Returns whether this pass is back to back with the previous one (same interrupted RIP).
        """
        b2b = rip == self.last_nmi_rip
        if not b2b:
            self.swallow_nmi = False
        self.last_nmi_rip = rip
        return b2b

    def finish_pass(self, b2b: bool, bitmap: int | None, sources: NmiSources) -> PassResult:
        """E3 from the handlers' poll on, with E4's handler selection. ``bitmap`` is None without
        NMI-source reporting; ``b2b`` is what ``begin_pass`` found when this pass started."""
        call_all = bitmap is None or bitmap == 0 or bitmap & 1
        claimed, served = [], []
        for vector in HANDLED_VECTORS:
            if call_all or bitmap >> vector & 1:
                arrivals = sources.claim(vector)
                if arrivals:
                    claimed.append(vector)
                    served += arrivals
        handled = len(claimed)
        self.normal += handled
        if handled > 1:
            self.swallow_nmi = True
        if handled:
            return PassResult("handled", claimed, served)

        arrivals = sources.claim(EXTERNAL_VECTOR)
        if arrivals:
            self.external += 1
            return PassResult("external", [EXTERNAL_VECTOR], arrivals)
        if b2b and self.swallow_nmi:
            self.swallow += 1
            return PassResult("swallowed", [])
        self.unknown += 1  # "Uhhuh. NMI received for unknown reason"
        return PassResult("unknown", [])

    def counts(self) -> dict[str, int]:
        return {"normal": self.normal, "unknown": self.unknown, "swallow": self.swallow, "external": self.external}
