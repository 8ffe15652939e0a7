"""The outcome of a run (SCENARIOS.md "Outcome"), the ordering checks, and `expect` checking.

Inversion and loss are computed from the pass records, which both the model and the RTL run
produce through the same ``HostCpu``; nothing here imports a simulator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .table import table_lines
from .transactions import Txn


@dataclass
class Outcome:
    passes: list  # of host.Pass
    counts: dict
    inversions: int
    inverted: list[int]  # indices of the inverting passes
    lost: int
    lost_events: list[int]  # arrivals whose source event is still pending
    lost_nmis: list[int]  # dropped arrivals whose source can never be claimed (vector 0)
    trace: list[Txn] = field(default_factory=list)
    cycles: int = 0
    arrival_vector: dict = field(default_factory=dict)
    host_state: dict | None = None  # registers that differ at return to user space, refusal

    @classmethod
    def from_host(cls, host, trace: list[Txn], cycles: int, regs=None) -> Outcome:
        inverted = find_inversions(host.passes)
        lost_events = sorted(a for arrivals in host.sources.covered.values() for a in arrivals)
        lost_nmis = [a for a in host.arrivals.dropped if host.arrival_vector[a] == 0]
        lost = len(host.sources.covered) + len(lost_nmis)
        host_state = None
        if host.hs is not None:
            from .host_state import REGISTERS
            host_state = host.hs.result(dict(zip(REGISTERS, regs or [0] * len(REGISTERS), strict=True)))
        return cls(list(host.passes), host.linux.counts(), len(inverted), inverted, lost,
                   lost_events, lost_nmis, list(trace), cycles, dict(host.arrival_vector), host_state)

    @classmethod
    def from_json(cls, data: dict) -> Outcome:
        """An outcome as ``to_json`` (or ``OUT=``) wrote it, for the same checks (no trace needed)."""
        from .host import Pass

        passes = [Pass(p["via"], p["rip"], p["bitmap"], p["cycle"], list(p["arrivals"]), p["result"],
                       list(p["claimed"]), p.get("end")) for p in data["passes"]]
        return cls(passes, dict(data["counts"]), data["inversions"], list(data.get("inverted", [])), data["lost"],
                   list(data.get("lost_events", [])), list(data.get("lost_nmis", [])), cycles=data.get("cycles", 0),
                   host_state=data.get("host_state"))

    # ----- presentation ----------------------------------------------------------------
    def to_json(self, with_trace: bool = True) -> dict:
        out = {
            "passes": [p.to_json() for p in self.passes],
            "counts": self.counts,
            "inversions": self.inversions,
            "inverted": self.inverted,
            "lost": self.lost,
            "lost_events": self.lost_events,
            "lost_nmis": self.lost_nmis,
            "cycles": self.cycles,
        }
        if self.host_state is not None:
            out["host_state"] = self.host_state
        if with_trace:
            out["trace"] = [t.to_json() for t in self.trace]
        return out

    def table(self) -> str:
        rows = [("#", "cycle", "via", "rip", "bitmap", "claimed", "result", "arrivals")]
        for i, p in enumerate(self.passes):
            mark = " <- inversion" if i in self.inverted else ""
            bitmap = "-" if p.bitmap is None else str(p.bitmap)
            rows.append((str(i), str(p.cycle), p.via, p.rip, bitmap, str(p.claimed), p.result + mark,
                         ",".join(map(str, p.arrivals))))
        lines = table_lines(rows)
        counts = " ".join(f"{k}={v}" for k, v in self.counts.items())
        lines.append(f"counts: {counts}  inversions={self.inversions}  lost={self.lost}  cycles={self.cycles}")
        if self.host_state is not None:
            hs = self.host_state
            lines.append("host state: " + ("KVM refused the TD" if hs["refused"] else
                         f"differ at return to user space: {', '.join(hs['differs']) or 'none'}"
                         + (f" (scratch, not relied on: {', '.join(hs['scratch_clobbered'])})"
                            if hs["scratch_clobbered"] else "")))
        return "\n".join(lines)

    def trace_text(self) -> str:
        return "\n".join(str(t) for t in self.trace)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=1)


def find_inversions(passes) -> list[int]:
    """Indices of passes that stand for arrival j while some arrival i < j is first handled later.

    A pass stands for the arrivals merged into the NMI it handles (SPEC §6). An E1 re-run
    stands for the same arrivals as the latched entry before it, so only the first pass
    for each arrival takes part.
    """
    first: dict[int, int] = {}
    for index, p in enumerate(passes):
        for arrival in p.arrivals:
            first.setdefault(arrival, index)
    inverted = []
    for index, p in enumerate(passes):
        mine = [a for a in p.arrivals if first[a] == index]
        if any(first[i] > index for j in mine for i in first if i < j):
            inverted.append(index)
    return inverted


def check_expect(expect: dict, outcome: Outcome) -> str | None:
    """The first expectation that does not hold, as a message; None when all hold."""
    if "passes" in expect:
        want, got = expect["passes"], outcome.passes
        for i, entry in enumerate(want):
            if i >= len(got):
                return f"expect.passes[{i}]: expected a pass {entry}, but only {len(got)} passes ran"
            actual = got[i].to_json()
            for key, value in entry.items():
                if actual[key] != value:
                    return f"expect.passes[{i}].{key}: expected {value!r}, got {actual[key]!r} (pass: {_brief(actual)})"
        if len(got) > len(want):
            return (f"expect.passes: expected {len(want)} passes, got {len(got)}; "
                    f"first extra: {_brief(got[len(want)].to_json())}")
    for key, value in expect.get("counts", {}).items():
        if outcome.counts[key] != value:
            return f"expect.counts.{key}: expected {value}, got {outcome.counts[key]}"
    for key in ("inversions", "lost"):
        if key in expect and getattr(outcome, key) != expect[key]:
            return f"expect.{key}: expected {expect[key]}, got {getattr(outcome, key)}"
    for key, value in expect.get("host_state", {}).items():
        got = (outcome.host_state or {}).get(key)
        if got != value:
            return f"expect.host_state.{key}: expected {value!r}, got {got!r}"
    return None


def _brief(p: dict) -> str:
    return f"via={p['via']} rip={p['rip']} claimed={p['claimed']} result={p['result']} cycle={p['cycle']}"
