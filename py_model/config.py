"""Run configuration: the module and KVM policies, the entry path, and the timing knobs.

Every knob is in clock cycles. Hardware knobs (``seamcall``, ``vmentry``, ``exit``) are
8-bit run-time registers of the RTL, so they range over 1..255. Software knobs are
unbounded above.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

MODULES = ("legacy", "fixed")
KVM_POLICIES = ("noinstr", "late")
ENTRIES = ("idt", "fred")

HW_KNOBS = ("seamcall", "vmentry", "exit", "step", "step_window")
# The module's zero-step mitigation (SPEC B6): ``steps`` single steps (0: off; the module draws 1..32).
SW_KNOBS = ("handler", "late", "poll", "fault", "nest")

# Bounds on waiting, documented in docs/scenarios.md: an `until` step fails after UNTIL_BOUND
# cycles; the run after the last step fails if it has not settled after SETTLE_BOUND.
UNTIL_BOUND = 10_000
SETTLE_BOUND = 10_000
# One bound on a whole run's length, shared by the model and every RTL bench (docs/robustness.md,
# "Robustness"): a run that has not ended after this many cycles fails with a clear message.
# ``MAX_CYCLES=`` on the make commands sets it (the model's CLI and the RTL benches take it as a
# setting, never from the environment here).
DEFAULT_RUN_CYCLE_BOUND = 200_000
_run_cycle_bound = DEFAULT_RUN_CYCLE_BOUND


def run_cycle_bound() -> int:
    return _run_cycle_bound


def set_run_cycle_bound(cycles: int) -> None:
    """The process's run bound (the CLI's ``--max-cycles``, a bench's settings)."""
    global _run_cycle_bound
    if isinstance(cycles, bool) or not isinstance(cycles, int) or cycles < 1:
        raise ValueError(f"MAX_CYCLES={cycles!r}: expected a positive integer (cycles)")
    _run_cycle_bound = cycles


def beyond_bound(name: str, bound: int) -> str:
    return f"{name}: did not end within {bound:,} cycles (the run bound; raise it with MAX_CYCLES=)"


@dataclass(frozen=True)
class Config:
    """One configuration of the system.

    Attributes
    ----------
    module : str
        ``legacy`` (SEAMRET restores SEAMCALL-time blocking, SPEC B4) or ``fixed`` (B5).
    kvm : str
        ``noinstr`` (NMI exit handled inside the noinstr region, C1) or ``late`` (C1').
    entry : str
        ``idt`` (nmi_state guard, E1) or ``fred`` (nesting, E2).
    nmi_source : bool
        FRED NMI-source reporting (A5, E4); requires ``entry == "fred"``.
    seamcall : int
        Cycles in SEAM root from SEAMCALL to the start of VM entry.
    vmentry : int
        Cycles of VM entry (still SEAM root) before the TD runs.
    exit : int
        Cycles of SEAM-root work after a VM exit, before SEAMRET.
    handler : int
        Length of one NMI handler pass, ending with its IRET.
    late : int
        KVM's instrumentable window before the manual NMI pass under ``kvm: late``.
    poll : int
        Offset within a pass at which its handlers poll their sources (E5); < handler.
    fault : int
        Length of an instrumentation exception handler, ending with IRET.
    nest : int
        Length of an IDT NMI entry that only sets LATCHED (E1), ending with IRET.
    steps : int
        The module's zero-step mitigation (B6): an NMI exit within ``step_window`` cycles of the TD
        starting makes the module single-step the TD ``steps`` times (0: off; 0..255) instead of
        exiting, then send a self-NMI with no source.
    step : int
        Cycles of one single step (the TD's instruction and its MTF exit).
    step_window : int
        An NMI exit fewer than this many cycles after the TD starts is "too soon" (the module's
        TSC threshold, in cycles).
    """

    module: str = "fixed"
    kvm: str = "noinstr"
    entry: str = "idt"
    nmi_source: bool = False
    seamcall: int = 4
    vmentry: int = 2
    exit: int = 6
    handler: int = 8
    late: int = 4
    poll: int = 0
    fault: int = 3
    nest: int = 2
    steps: int = 0
    step: int = 3
    step_window: int = 4

    def __post_init__(self):
        problems = self.problems()
        if problems:
            raise ValueError("; ".join(f"{k}: {msg}" for k, msg in problems))

    def problems(self) -> list[tuple[str, str]]:
        """(key, message) for every invalid value."""
        out = []
        for key, allowed in (("module", MODULES), ("kvm", KVM_POLICIES), ("entry", ENTRIES)):
            if getattr(self, key) not in allowed:
                out.append((key, f"expected one of {', '.join(allowed)}, got {getattr(self, key)!r}"))
        if not isinstance(self.nmi_source, bool):
            out.append(("nmi_source", f"expected true or false, got {self.nmi_source!r}"))
        elif self.nmi_source and self.entry != "fred":
            out.append(("nmi_source", "NMI-source reporting needs entry: fred"))
        for key in HW_KNOBS:
            value = getattr(self, key)
            if not _is_int(value) or not 1 <= value <= 255:
                out.append((key, f"expected an integer 1..255 (cycles), got {value!r}"))
        if not _is_int(self.steps) or not 0 <= self.steps <= 255:
            out.append(("steps", f"expected an integer 0..255 (0: no zero-step mitigation), got {self.steps!r}"))
        for key in SW_KNOBS:
            value = getattr(self, key)
            low = 0 if key in ("poll", "late") else 1
            if not _is_int(value) or value < low:
                out.append((key, f"expected an integer >= {low} (cycles), got {value!r}"))
        if not out and self.poll >= self.handler:
            out.append(("poll", f"must be less than handler ({self.handler}), got {self.poll}"))
        return out

    def with_(self, **changes) -> Config:
        return replace(self, **changes)

    def label(self) -> str:
        entry = "fred+ns" if self.nmi_source else self.entry
        return f"{self.module}/{self.kvm}/{entry}" + ("+zero-step" if self.steps else "")

    def to_json(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


CONFIG_KEYS = tuple(f.name for f in fields(Config))


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
