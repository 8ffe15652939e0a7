"""Cycle-accurate reference of the NMI hardware: the NMI controller and the SEAM sequencer.

This is the part the RTL implements; it predicts the RTL edge for edge. Each call of
``step`` is one clock edge: it takes the inputs driven during the cycle and returns the
transactions of that edge. Software (KVM, Linux) lives in ``host.py`` and ``linux_nmi.py``.

Rules (shared/SPEC.md): A1 IRET unblocks (under FRED only a return from an NMI frame); A2
arrivals while blocked latch, a second one is dropped; A3 a latched NMI is delivered at the next
host boundary once unblocked; A4 an NMI in SEAM non-root always exits; A5 the NMI-source bitmap;
B1 SEAMCALL saves blocking and blocks; B2 a latched NMI exits the TD at once; B3 exit reason and
qualification; B4/B5 the module's blocking at SEAMRET; B6 the zero-step mitigation (``steps`` > 0),
as intel/tdx-module ``src/td_transitions/td_exit_stepping.c`` (``vmexit_stepping_filter``) has it:

- an asynchronous exit (NMI, external interrupt) fewer than ``step_window`` cycles after the TD
  started (the TSC test, line 206) makes the module single-step the TD (phase STEP, SEAM root to the
  host) instead of exiting (``step``); an interrupt that starts stepping is pushed back to the local
  APIC (line 232: ``intr_pending``);
- between steps the CPU is in SEAM root with NMIs blocked (A1/A3), so arrivals latch (a burst merges,
  A2); each step's VM entry with an NMI latched is an NMI exit (B2). An NMI or interrupt exit during
  stepping is counted and the TD resumed (``absorb``, lines 247-264) until the count runs out; the
  exit at which it runs out ends stepping (``unstep``) and is reported (lines 267-312);
- stepping that saw an NMI exit and ends on an exit that is not an NMI exit sends the module's NMI
  with no source (``self_nmi``, line 277); ending at an MTF exit re-enters the TD with
  ``last_entry_tsc = 0`` (line 307: ``no_step``), which exits at once for the self-NMI, else for the
  pushed-back interrupt.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import Config
from .host_state import ADDRESS, REGISTERS, module_exit_value
from .transactions import EXIT_REASONS, Txn

# Modes (SPEC §1), encoded as the RTL encodes them.
VMX_ROOT, SEAM_ROOT, SEAM_NONROOT = 0, 1, 2
MODE_NAMES = {VMX_ROOT: "host", SEAM_ROOT: "seam_root", SEAM_NONROOT: "guest"}

# Sequencer phases. HOST is VMX root; SEAMCALL, VMENTRY, EXIT and STEP (the module single-steps the
# TD, B6: to the host's software it is inside TDH.VP.ENTER) are SEAM root.
HOST, SEAMCALL, VMENTRY, GUEST, EXIT, STEP = 0, 1, 2, 3, 4, 5
PHASE_MODE = {HOST: VMX_ROOT, SEAMCALL: SEAM_ROOT, VMENTRY: SEAM_ROOT, GUEST: SEAM_NONROOT, EXIT: SEAM_ROOT,
              STEP: SEAM_ROOT}
GUEST_CYCLES_MAX = 255  # the RTL's saturating count of cycles since the TD started

NMI_EXIT = EXIT_REASONS["nmi"]
INTR_EXIT = EXIT_REASONS["interrupt"]


@dataclass
class Inputs:
    """What is driven onto the hardware during one cycle."""

    nmi: bool = False
    vector: int = 0
    seamcall: bool = False
    iret: bool = False
    iret_nmi: bool = False  # the returning frame is an NMI frame (FRED's ERETS/ERETU look at it, A1)
    exit_req: bool = False
    exit_reason: int = 0
    reg_we: bool = False
    reg_addr: int = 0
    reg_data: int = 0

    def idle(self) -> bool:
        return not (self.nmi or self.seamcall or self.iret or self.exit_req or self.reg_we)


IDLE = Inputs()


@dataclass(frozen=True)
class HwState:
    """The software-visible hardware state during one cycle (the RTL's status outputs)."""

    phase: int
    blocked: bool
    latch: bool
    saved_blocked: bool
    bitmap: int

    @property
    def mode(self) -> int:
        return PHASE_MODE[self.phase]

    @property
    def deliverable(self) -> bool:
        """A delivery happens at the end of this cycle; host software makes no progress."""
        return self.phase == HOST and self.latch and not self.blocked


def unblocks(entry: str, nmi_frame: bool) -> bool:
    """A1: any IRET unblocks NMIs; a FRED return only when its frame says the event was an NMI."""
    return entry == "idt" or nmi_frame


def source_bit(vector: int) -> int:
    """A5: vectors 1..15 set their own bit; no vector (0) sets bit 0."""
    return 1 << vector if 1 <= vector <= 15 else 1


class NmiHardware:
    """Reference of the RTL top: NMI controller plus SEAM sequencer.

    Parameters
    ----------
    config : Config
        Only ``module``, ``entry``, ``nmi_source`` and the hardware knobs are used.
    td_tsx, td_waitpkg : bool
        The TD's attributes, for the module's host-state policy at SEAMRET (SPEC §7).
    """

    def __init__(self, config: Config, td_tsx: bool = False, td_waitpkg: bool = False):
        self.cfg = config
        self.td_tsx, self.td_waitpkg = td_tsx, td_waitpkg
        self.regs = [0] * len(REGISTERS)  # the host-state register file
        self.debugctl_at_seamcall = 0
        self.regs_changed = False  # the last edge wrote the register file (a checkpoint)
        self.phase = HOST
        self.count = 0
        self.blocked = False
        self.latch = False
        self.saved_blocked = False
        self.bitmap = 0
        self.last_exit_nmi = False
        self.guest_cycles = 0  # cycles the TD has run since its VM entry (saturating)
        self.no_step = False  # the module re-entered the TD after stepping: its next exit is not "too soon"
        self.steps_left = 0  # the TD's resumptions left while stepping (the source's num_inst_step + 1)
        self.nmi_seen = False  # an NMI exit started stepping or was absorbed (nmi_exit_occured)
        self.intr_pending = False  # the interrupt that started stepping, pushed back to the local APIC

    def state(self) -> HwState:
        return HwState(self.phase, self.blocked, self.latch, self.saved_blocked, self.bitmap)

    def step(self, cycle: int, inp: Inputs) -> list[Txn]:
        cfg = self.cfg
        out: list[Txn] = []
        arrival_bit = source_bit(inp.vector) if inp.nmi and cfg.nmi_source else 0
        latch, bitmap = self.latch, self.bitmap
        phase = self.phase
        self.regs_changed = inp.reg_we

        # A3: delivery at a host boundary consumes the latch and the bitmap.
        if phase == HOST and latch and not self.blocked:
            out.append(Txn.make(cycle, "deliver", via=cfg.entry, bitmap=bitmap))
            self.blocked = True
            latch, bitmap = False, 0

        # A4/B2: in the guest a latched or arriving NMI exits; it never reaches the latch. While the module
        # steps the TD (B6) it is in SEAM root between steps, so arrivals latch; a step's VM entry (the
        # edge that ends STEP) with an NMI latched or arriving is an NMI exit.
        step_entry = phase == STEP and not inp.exit_req and self.count == 0
        nmi_exit = (phase == GUEST or step_entry) and (latch or inp.nmi)
        if inp.nmi:
            out.append(Txn.make(cycle, "nmi", vector=inp.vector))
            if not nmi_exit:
                if latch:
                    out.append(Txn.make(cycle, "drop", vector=inp.vector))  # A2
                else:
                    out.append(Txn.make(cycle, "latch", vector=inp.vector))
                latch = True
            bitmap |= arrival_bit

        if phase == HOST:
            if out and out[0].kind == "deliver":
                pass  # the boundary was taken by the delivery; software saw it coming
            elif inp.seamcall:
                out.append(Txn.make(cycle, "seamcall", saved=int(self.blocked)))
                self.debugctl_at_seamcall = self.regs[ADDRESS["DEBUGCTL"]]
                self.saved_blocked = self.blocked  # B1
                self.blocked = True
                self._enter(SEAMCALL, cfg.seamcall)
            elif inp.iret:
                out.append(Txn.make(cycle, "iret", nmi=int(inp.iret_nmi)))
                if unblocks(cfg.entry, inp.iret_nmi):
                    self.blocked = False
        elif phase in (SEAMCALL, VMENTRY):
            if self._expired():
                if phase == SEAMCALL:
                    self._enter(VMENTRY, cfg.vmentry)
                else:
                    out.append(Txn.make(cycle, "vmentry"))
                    self._enter(GUEST, 0)
                    self.guest_cycles, self.no_step = 0, False
        elif phase == GUEST:
            too_soon = cfg.steps and self.guest_cycles < cfg.step_window and not self.no_step
            self.guest_cycles = min(self.guest_cycles + 1, GUEST_CYCLES_MAX)
            # The pushed-back interrupt exits at once at the re-entry after stepping (B6); below an NMI.
            intr_exit = not nmi_exit and (self.intr_pending or (inp.exit_req and inp.exit_reason == INTR_EXIT))
            if (nmi_exit or intr_exit) and too_soon:  # B6: the module steps the TD instead of exiting
                out.append(Txn.make(cycle, "step", intr=int(intr_exit)))
                if nmi_exit:
                    latch, bitmap = False, 0
                self.nmi_seen, self.intr_pending = nmi_exit, intr_exit
                self.steps_left = cfg.steps
                self._enter(STEP, cfg.step)
            elif nmi_exit:
                latch, bitmap = self._exit(cycle, out, NMI_EXIT, latch, bitmap)
            elif intr_exit:
                latch, bitmap = self._exit(cycle, out, INTR_EXIT, latch, bitmap)
            elif inp.exit_req:
                latch, bitmap = self._exit(cycle, out, inp.exit_reason, latch, bitmap)
        elif phase == STEP:
            last = self.steps_left == 1
            async_exit = nmi_exit or (inp.exit_req and inp.exit_reason == INTR_EXIT)
            self.nmi_seen |= nmi_exit
            if async_exit and not last:  # counted, the TD resumed: absorbed
                out.append(Txn.make(cycle, "absorb", intr=int(not nmi_exit)))
                if nmi_exit:
                    latch, bitmap = False, 0
                self.steps_left -= 1
                self._enter(STEP, cfg.step)
            elif async_exit or inp.exit_req:  # the count ran out at this exit, or the TD's own exit
                out.append(Txn.make(cycle, "unstep", mtf=0))
                if self.nmi_seen and not nmi_exit:
                    latch, bitmap = self._self_nmi(cycle, out, latch, bitmap)
                reason = NMI_EXIT if nmi_exit else inp.exit_reason
                latch, bitmap = self._exit(cycle, out, reason, latch, bitmap)
            elif self._expired():  # the single step's MTF exit
                if last:  # stepping ends; back into the TD, which is not stepped again
                    out.append(Txn.make(cycle, "unstep", mtf=1))
                    if self.nmi_seen:
                        latch, bitmap = self._self_nmi(cycle, out, latch, bitmap)
                    self.no_step = True
                    self._enter(GUEST, 0)
                else:
                    self.steps_left -= 1
                    self._enter(STEP, cfg.step)
        elif phase == EXIT:
            if self._expired():
                keep_blocked = cfg.module == "fixed" and self.last_exit_nmi  # B5
                self.blocked = True if keep_blocked else self.saved_blocked  # B4
                out.append(Txn.make(cycle, "seamret", blocked=int(self.blocked)))
                self.regs = [module_exit_value(name, self.regs[i], self.debugctl_at_seamcall, self.td_tsx,
                                               self.td_waitpkg) for i, name in enumerate(REGISTERS)]
                self.regs_changed = True
                self._enter(HOST, 0)

        if inp.reg_we:  # the register file's write port (host software, or the TD while it runs)
            out.append(Txn.make(cycle, "write", reg=REGISTERS[inp.reg_addr], value=inp.reg_data))
            self.regs[inp.reg_addr] = inp.reg_data
        self.latch, self.bitmap = latch, bitmap
        return out

    def quiet_cycles(self) -> int:
        """How many coming edges, with idle inputs, would produce no transaction."""
        if self.phase == HOST:
            return 0 if (self.latch and not self.blocked) else 1 << 30
        if self.phase == GUEST:
            return 0 if (self.latch or self.intr_pending) else 1 << 30
        return self.count

    def skip(self, n: int) -> None:
        """Advance ``n`` idle edges known to be quiet (see ``quiet_cycles``)."""
        if self.phase in (SEAMCALL, VMENTRY, EXIT, STEP):
            assert n <= self.count
            self.count -= n
        elif self.phase == GUEST:
            self.guest_cycles = min(self.guest_cycles + n, GUEST_CYCLES_MAX)

    def _self_nmi(self, cycle: int, out: list, latch: bool, bitmap: int) -> tuple[bool, int]:
        """B6: the module's NMI to itself, with no source (vector 0); SEAM root blocks NMIs, so it latches,
        merging with an NMI already latched (A2: one NMI, the bitmaps joined)."""
        out.append(Txn.make(cycle, "self_nmi"))
        return True, bitmap | (source_bit(0) if self.cfg.nmi_source else 0)

    def _exit(self, cycle: int, out: list, reason: int, latch: bool, bitmap: int) -> tuple[bool, int]:
        """B3: a VM exit reported to KVM; an NMI exit takes the latch and the bitmap (A5: into the
        qualification). A pushed-back interrupt still pending reaches the host after SEAMRET (B6), outside
        this model, which has no host interrupts."""
        nmi = reason == NMI_EXIT
        out.append(Txn.make(cycle, "exit", reason=reason, qual=bitmap if nmi and self.cfg.nmi_source else 0))
        self.last_exit_nmi = nmi
        self.intr_pending = self.nmi_seen = False
        self._enter(EXIT, self.cfg.exit)
        return (False, 0) if nmi else (latch, bitmap)

    def _enter(self, phase: int, length: int) -> None:
        self.phase = phase
        self.count = max(length - 1, 0)

    def _expired(self) -> bool:
        if self.count == 0:
            return True
        self.count -= 1
        return False
