"""The host CPU's software: KVM's TD run path and Linux's NMI entry, cycle by cycle.

``HostCpu`` watches the hardware's transactions and state, and drives the two inputs that
host software controls: SEAMCALL (TDH.VP.ENTER) and IRET. It runs unchanged against the
reference (``hardware.py``) and against the RTL (the cocotb testbench).

Per cycle: ``on_edge`` takes the transactions of the previous edge; the stimulus may then
make requests; ``act`` makes one cycle of progress and returns the inputs for this cycle.
Host code makes no progress in a cycle whose boundary belongs to an NMI delivery
(``HwState.deliverable``), nor while the CPU is in SEAM.

Rules: C1/C1' (the KVM policies), C2 (the manual pass), C3 (RIPs), E1 (nmi_state guard and
re-run), E2 (FRED nests), E5 (the poll point).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .arrivals import ArrivalBook
from .config import Config
from .hardware import GUEST, HOST, NMI_EXIT, HwState, Inputs
from .host_state import ADDRESS, HostStateSw
from .linux_nmi import EXECUTING, LATCHED, NOT_RUNNING, LinuxNmi, NmiSources
from .transactions import Txn, bitmap_vectors

R_SEAM, R_KVM = "R_seam", "R_kvm"


class Kvm(enum.Enum):
    """Where KVM is in its TD run path (C1/C1'), and with host state (SPEC §7) its restores."""

    IDLE = "idle"
    WANT_ENTER = "want_enter"
    IN_SEAM = "in_seam"
    LATE_WINDOW = "late_window"  # C1': the instrumentable window before the manual pass
    MANUAL_PASS = "manual_pass"  # C1/C2: the manual pass is due
    IN_PASS = "in_pass"
    SETUP = "setup"  # loading the host's values
    RESTORING = "restoring"  # after an entry
    TO_USER = "to_user"  # vcpu_put, then the user-return notifier
    RETURNED = "returned"


class Ctx(enum.Enum):
    """What runs on the host CPU and ends with IRET."""

    PASS = "pass"  # a pass of default_do_nmi
    LATCHED = "latched"  # an IDT entry that only set LATCHED (E1)
    FAULT = "fault"  # an instrumentation exception


class ScenarioError(Exception):
    """A request the scenario made that the system cannot take (e.g. enter while inside an entry)."""


@dataclass
class Pass:
    """One NMI handler pass, as the outcome reports it."""

    via: str
    rip: str
    bitmap: list[int] | None
    cycle: int
    arrivals: list[int]
    result: str = "running"
    claimed: list[int] = field(default_factory=list)
    end: int | None = None  # the cycle of its IRET (or of the hand-over to an E1 re-run)

    def to_json(self) -> dict:
        return {"via": self.via, "rip": self.rip, "bitmap": self.bitmap, "claimed": self.claimed,
                "result": self.result, "cycle": self.cycle, "end": self.end, "arrivals": self.arrivals}


@dataclass
class Context:
    """Something running on the host CPU that ends with IRET (a pass, a latched entry, a fault)."""

    kind: Ctx
    rip: str  # where its IRET returns: the RIP it interrupted
    length: int
    record: Pass | None = None
    guarded: bool = False  # runs under exc_nmi's nmi_state (IDT entry, KVM's IDT-style call)
    bitmap: int | None = None
    elapsed: int = 0
    rerun_arrivals: list[int] = field(default_factory=list)
    b2b: bool = False  # what default_do_nmi's back-to-back test found as this pass started (E3)
    poll_index: int = 0  # which poll of the run this pass's was (1 is the first); 0 before it polls


class HostCpu:
    """KVM plus Linux on one logical CPU.

    Parameters
    ----------
    config : Config
        The KVM policy, entry path, NMI-source switch and software timing knobs.
    host_state : HostStateSw or None
        KVM's host-state restores (SPEC §7), where the scenario models host state.
    """

    def __init__(self, config: Config, host_state: HostStateSw | None = None):
        self.cfg = config
        self.hs = host_state
        self.write_queue: list[tuple[str, int]] = []  # register writes by host code, one per cycle
        self.guest_queue: list[tuple[str, int]] = []  # the TD's own register writes while it runs
        self.linux = LinuxNmi(nmi_source=config.nmi_source)
        self.sources = NmiSources()
        self.passes: list[Pass] = []
        self.stack: list[Context] = []
        self.kvm = Kvm.IDLE
        if host_state is not None:
            self.kvm, self.write_queue = Kvm.SETUP, host_state.setup_writes()
        self.late_left = 0
        self.exit_reason: int | None = None
        self.exit_qual = 0
        self.exit_arrivals: list[int] = []
        self.pending_faults = 0
        self.arrivals = ArrivalBook()  # what the latch, stepping and each exit or delivery stand for
        self.raised: list[int] = []  # arrival ids raised by the stimulus, not yet seen as `nmi`
        self.arrival_vector: dict[int, int] = {}
        self.boundary_rip: str | None = None  # where a delivery at the next boundary lands
        self.iret_rip: str | None = None
        self._fresh = 0
        self.polls = 0  # polls so far (E5), for `until: polled`

    # ----- stimulus requests -------------------------------------------------------------
    def raise_nmi(self, vector: int) -> int:
        """A source raises an NMI: set its status bit now; the pin is driven this cycle."""
        arrival = len(self.arrival_vector) + 1
        self.arrival_vector[arrival] = vector
        self.sources.raise_(vector, arrival)
        self.raised.append(arrival)
        return arrival

    def request_enter(self) -> None:
        if self.kvm != Kvm.IDLE:
            raise ScenarioError(f"enter: KVM is already inside an entry (state {self.kvm})")
        self.kvm = Kvm.WANT_ENTER

    def request_fault(self) -> None:
        self.pending_faults += 1

    # ----- queries ---------------------------------------------------------------------
    def in_handler(self) -> bool:
        return any(ctx.kind in (Ctx.PASS, Ctx.LATCHED) for ctx in self.stack)

    def pass_polled(self, since: int | None = None) -> bool | None:
        """Where the innermost running context is in its poll (E5): False before it (this cycle's
        arrivals are seen by it), True after it (and, with ``since``, after the ``since``-th poll of
        the run); None when that context is not a pass."""
        if not self.stack or self.stack[-1].kind != Ctx.PASS:
            return None
        ctx = self.stack[-1]
        return ctx.elapsed > self.cfg.poll and (since is None or ctx.poll_index > since)

    def kvm_idle(self) -> bool:
        return self.kvm == Kvm.IDLE

    def settled(self) -> bool:
        return not self.stack and self.kvm == Kvm.IDLE and not self.pending_faults and not self.raised

    def return_to_user(self) -> None:
        """KVM leaves the vCPU (vcpu_put) and the task returns to user space (the uret notifier)."""
        self.kvm = Kvm.TO_USER
        self.write_queue = self.hs.vcpu_put_writes() + self.hs.user_return_writes()

    def in_noinstr_region(self) -> bool:
        if self.kvm in (Kvm.WANT_ENTER, Kvm.IN_SEAM):
            return True
        return self.cfg.kvm == "noinstr" and self.kvm in (Kvm.MANUAL_PASS, Kvm.IN_PASS)

    # ----- one cycle -------------------------------------------------------------------
    def on_edge(self, cycle: int, txns: list[Txn]) -> None:
        """Take the transactions of the edge that ended the previous cycle."""
        for txn in txns:
            kind = txn.kind
            if kind == "nmi" and not self.raised:
                raise ScenarioError(f"cycle {txn.cycle}: hardware reported an NMI nobody raised")
            taken = self.arrivals.edge(txn, self.raised.pop(0) if kind == "nmi" else None)
            if kind == "deliver":
                rip = self.boundary_rip or self._fresh_rip()
                bitmap = txn.get("bitmap") if self.cfg.nmi_source else None
                self._deliver(cycle, txn.get("via"), rip, bitmap, taken)
            elif kind == "exit":
                self.exit_reason, self.exit_qual = txn.get("reason"), txn.get("qual")
                if taken is not None:
                    self.exit_arrivals = taken
            elif kind == "seamret":
                self.boundary_rip = R_SEAM  # C3
                self._after_seamret()
            elif kind == "iret":
                self.boundary_rip = self.iret_rip  # C3: lands where the IRET returns

    def act(self, cycle: int, hw: HwState) -> Inputs:
        """One cycle of host progress; returns the SEAMCALL/IRET inputs for this cycle."""
        inputs = Inputs()
        if hw.phase == GUEST and self.guest_queue:
            self._write(inputs, *self.guest_queue.pop(0))  # the TD, not the host CPU
        if hw.phase != HOST or hw.deliverable:
            return inputs
        # Faults come from instrumented host code: never inside the noinstr region, and
        # never inside an NMI handler (noinstr too); they wait for the host's own code.
        if self.pending_faults and not self.in_noinstr_region() and not self.in_handler():
            self.pending_faults -= 1
            self.stack.append(Context(Ctx.FAULT, self._fresh_rip(), self.cfg.fault))
        if not self.stack:
            self._kvm_progress(cycle, inputs)
        if self.stack:
            self._context_progress(cycle, self.stack[-1], inputs)
        self.boundary_rip = None  # the host executed an instruction
        return inputs

    def quiet_cycles(self, hw: HwState) -> int:
        """How many coming cycles of host progress would change nothing observable."""
        if hw.phase == GUEST and self.guest_queue:
            return 0
        if hw.phase != HOST:
            return 1 << 30
        if self.pending_faults or self.raised or self.write_queue:
            return 0
        if self.stack:
            ctx = self.stack[-1]
            if ctx.kind == Ctx.PASS and not ctx.elapsed:
                return 0  # default_do_nmi starts: the back-to-back test (E3)
            left = ctx.length - ctx.elapsed - 1  # cycles before the one that ends it
            if ctx.kind == Ctx.PASS and ctx.elapsed <= self.cfg.poll:
                left = min(left, self.cfg.poll - ctx.elapsed)
            return max(left, 0)
        if self.kvm == Kvm.LATE_WINDOW:
            return self.late_left
        return 1 << 30 if self.kvm in (Kvm.IDLE, Kvm.IN_SEAM, Kvm.RETURNED) else 0

    def skip(self, n: int, hw: HwState) -> None:
        """Advance ``n`` quiet cycles (see ``quiet_cycles``)."""
        if hw.phase != HOST or n == 0:
            return
        if self.stack:
            self.stack[-1].elapsed += n
        elif self.kvm == Kvm.LATE_WINDOW:
            self.late_left -= n
        self.boundary_rip = None

    # ----- internals -------------------------------------------------------------------
    def _fresh_rip(self) -> str:
        self._fresh += 1
        return f"host:{self._fresh}"

    def _deliver(self, cycle: int, via: str, rip: str, bitmap: int | None, arrivals: list[int]) -> None:
        vectors = bitmap_vectors(bitmap) if bitmap is not None else None
        record = Pass(via, rip, vectors, cycle, arrivals)
        self.passes.append(record)
        if via == "idt" and self.linux.nmi_state != NOT_RUNNING:
            # E1: exc_nmi finds a pass running: mark LATCHED and return with IRET.
            self.linux.nmi_state = LATCHED
            record.result = "latched"
            outer = next(ctx for ctx in reversed(self.stack) if ctx.guarded and ctx.kind == Ctx.PASS)
            outer.rerun_arrivals += arrivals
            self.stack.append(Context(Ctx.LATCHED, rip, self.cfg.nest, record))
            return
        guarded = via == "idt"
        if guarded:
            self.linux.nmi_state = EXECUTING
        self.stack.append(Context(Ctx.PASS, rip, self.cfg.handler, record, guarded, bitmap))

    def _write(self, inputs: Inputs, name: str, value: int) -> None:
        inputs.reg_we, inputs.reg_addr, inputs.reg_data = True, ADDRESS[name], value

    def _entry_done(self) -> None:
        """KVM is back from TDH.VP.ENTER and its NMI handling: now the host-state restores."""
        if self.hs is None:
            self.kvm = Kvm.IDLE
        else:
            self.kvm, self.write_queue = Kvm.RESTORING, self.hs.after_exit_writes()

    def _after_seamret(self) -> None:
        if self.exit_reason != NMI_EXIT:
            self._entry_done()
        elif self.cfg.kvm == "late":
            self.kvm, self.late_left = Kvm.LATE_WINDOW, self.cfg.late  # C1'
        else:
            self.kvm = Kvm.MANUAL_PASS  # C1

    def _kvm_progress(self, cycle: int, inputs: Inputs) -> None:
        if self.kvm in (Kvm.SETUP, Kvm.RESTORING, Kvm.TO_USER):
            if self.write_queue:
                self._write(inputs, *self.write_queue.pop(0))
                return
            self.kvm = Kvm.RETURNED if self.kvm == Kvm.TO_USER else Kvm.IDLE
        if self.kvm == Kvm.WANT_ENTER:
            inputs.seamcall = True
            self.kvm = Kvm.IN_SEAM
            if self.hs is not None:
                self.guest_queue = self.hs.guest_writes()
            return
        if self.kvm == Kvm.LATE_WINDOW:
            if self.late_left:
                self.late_left -= 1
                return
            self.kvm = Kvm.MANUAL_PASS
        if self.kvm == Kvm.MANUAL_PASS:
            # C2: the manual pass for NMI X; IDT-style calls go through exc_nmi's guard.
            bitmap = self.exit_qual if self.cfg.nmi_source else None
            vectors = bitmap_vectors(bitmap) if bitmap is not None else None
            record = Pass("kvm", R_KVM, vectors, cycle, self.exit_arrivals)
            self.passes.append(record)
            guarded = self.cfg.entry == "idt"
            if guarded:
                self.linux.nmi_state = EXECUTING
            self.stack.append(Context(Ctx.PASS, R_KVM, self.cfg.handler, record, guarded, bitmap))
            self.kvm = Kvm.IN_PASS

    def _context_progress(self, cycle: int, ctx: Context, inputs: Inputs) -> None:
        # E3: the back-to-back test and its bookkeeping as default_do_nmi starts; claiming at the
        # poll point (E5), possibly later, after a nested FRED pass has run.
        if ctx.kind == Ctx.PASS and ctx.elapsed == 0:
            ctx.b2b = self.linux.begin_pass(ctx.rip)
        if ctx.kind == Ctx.PASS and ctx.elapsed == self.cfg.poll:
            self.polls += 1
            ctx.poll_index = self.polls
            outcome = self.linux.finish_pass(ctx.b2b, ctx.bitmap, self.sources)
            ctx.record.result, ctx.record.claimed = outcome.result, outcome.claimed
        ctx.elapsed += 1
        if ctx.elapsed < ctx.length:
            return
        if ctx.record is not None:
            ctx.record.end = cycle
        if ctx.guarded and self.linux.nmi_state == LATCHED:
            # E1: the decrement leaves nmi_state non-zero: run default_do_nmi again.
            self.linux.nmi_state = EXECUTING
            ctx.record = Pass(ctx.record.via, ctx.rip, ctx.record.bitmap, cycle + 1, ctx.rerun_arrivals)
            self.passes.append(ctx.record)
            ctx.elapsed, ctx.rerun_arrivals = 0, []
            return
        if ctx.guarded:
            self.linux.nmi_state = NOT_RUNNING
        inputs.iret = True
        inputs.iret_nmi = ctx.kind != Ctx.FAULT  # a pass's or latched entry's frame is an NMI frame (A1)
        self.iret_rip = ctx.rip
        self.stack.pop()
        if ctx.kind == Ctx.PASS and ctx.record.via == "kvm":
            self._entry_done()  # the noinstr region (if any) ends after the manual pass
