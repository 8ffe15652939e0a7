"""The NMI controller and SEAM sequencer (``NmiTop``) as the softcore's memory-mapped peripheral.

The CPU is the host: it executes SEAMCALL(TDH.VP.ENTER) as a store to ENTER, which completes at
SEAMRET (the CPU is held meanwhile, so the first instruction after the store is ``R_seam``), and
IRET as a store to IRET before its ``mret``. A delivery raises the CPU's interrupt; the handler
acknowledges it by reading DELIVERED, and ``mepc`` is the real interrupted PC. NMI sources are a
status-bit block (E4: an arrival from vector v sets bit v; handlers poll and clear). NMI arrivals,
the TD's non-NMI exits and the TD's own register writes come from the environment (the testbench).
With the host-state register file (SPEC §7), KVM's restores are the CPU's: a 64-bit value in
REG_LO/REG_HI, then its register's address to REG_WRITE (a WRMSR/XSETBV/MOV DR, one write).

A delivery happens at an instruction boundary before the instruction there: when an NMI is owed
(a delivery ends this cycle, or one is already raised and not yet taken by the CPU), an ENTER is
refused (ENTERED reads 0) and the firmware enters again after its handler has run.
"""

from dataclasses import dataclass, field

from amaranth import Cat, Const, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out, connect, flipped

from ..interfaces import (
    ConfigSignature,
    EventSignature,
    Mode,
    RegWriteSignature,
    StatusSignature,
    StimulusSignature,
    forward,
)
from ..top import NmiTop
from . import abi
from .wishbone import WishboneSignature

# The register map, described once: name -> (byte offset, access, meaning). The firmware's header
# (``firmware/soc.h``'s offsets) is generated from this table (tb/sim/firmware.py).
REGISTERS = {
    "ENTER": (0x00, "w", "SEAMCALL(TDH.VP.ENTER): the store completes at SEAMRET, or at once when refused"),
    "ENTERED": (0x04, "r", "1: the last ENTER ran the TD; 0: it was refused, an NMI is delivered first"),
    "EXIT": (0x08, "r", "the last VM exit: basic reason (6..0), NMI-source qualification (31..16)"),
    "IRET": (0x0C, "w", "IRET (ERETS/ERETU under FRED); bit 0: the frame returned through is an NMI frame"),
    "SOURCES": (0x10, "rw1c", "NMI-source status: an arrival from vector v (1..15) sets bit v; write 1s to clear"),
    "DELIVERED": (0x14, "r", "reading acknowledges the interrupt: the delivery's NMI-source bitmap (15..0), FRED (16), "
                             "owed at the boundary after a SEAMRET (17) or an IRET (18): no host instruction ran before it"),
    "CONFIG": (0x18, "r", "the firmware's parameters (``sw_cfg``, set by the testbench)"),
    "CYCLE": (0x1C, "r", "cycles since reset"),
    "LOG": (0x20, "w", "a firmware log word, seen by the testbench's bus monitor"),
    "DONE": (0x24, "w", "the firmware finished; the value is its status"),
    "HANDLER": (0x28, "w", "the firmware's NMI handler depth (7..0: a pass, or exc_nmi marking one LATCHED, runs "
                           "while nonzero), its innermost pass's poll state (9..8, abi.POLL_STATES) and poll "
                           "number (15..10), the polls so far (21..16); the environment's `until: handler`, "
                           "`until: poll` and `until: polled` wait for them"),
    "ENV": (0x2C, "r", "bit 0: the environment has played its timeline and the system has settled (the firmware "
                       "may end its run)"),
    "REG_LO": (0x30, "w", "host-state register file: bits 31..0 of the value the next REG_WRITE writes"),
    "REG_HI": (0x34, "w", "host-state register file: bits 63..32 of the value the next REG_WRITE writes"),
    "REG_WRITE": (0x38, "w", "host-state register file: write REG_HI:REG_LO to the register at this address "
                             "(py_model.host_state.REGISTERS order)"),
}
INDEX = {name: offset // 4 for name, (offset, _, _) in REGISTERS.items()}


class EnvSignature(wiring.Signature):
    """What the environment does to the CPU: NMI arrivals, the TD's own (non-NMI) exits and register
    writes (``reg``: the TD runs in the environment; a write is taken only while it runs), and
    ``done``: its timeline is played and the system has settled (readable by the firmware at ENV)."""

    def __init__(self):
        super().__init__({"nmi": Out(1), "nmi_vector": Out(4), "exit_req": Out(1), "exit_reason": Out(7),
                          "reg": Out(RegWriteSignature()), "done": Out(1)})


class MonitorSignature(wiring.Signature):
    """What the testbench observes: ``NmiTop``'s stimulus as the CPU and environment drive it, its
    state and events (compared with the reference cycle by cycle), the CPU's NMI interrupt line, a
    LOG store this cycle, the firmware's final status, whether its NMI handler runs and where its
    innermost pass is in its poll (HANDLER), and the CYCLE counter the firmware stamps its log with.

    ``wake``: this cycle is one an event-driven bench must look at. The design's own ``trace.wake``
    (the previous edge had an event or moved the phase), a strobe into the design this cycle (the
    CPU's SEAMCALL, IRET or register write, the environment's arrival, exit or TD write), a LOG store,
    and a write to HANDLER or DONE or a read of DELIVERED (each changes what the bench reads in the
    next cycle, which a bench visits after every woken cycle). Otherwise the stimulus is idle, the
    design's state holds and nothing the bench reads changes (``tests/tb/uvm/test_softcore_events.py``)."""

    def __init__(self):
        super().__init__({
            "stim": Out(StimulusSignature()), "status": Out(StatusSignature()), "ev": Out(EventSignature()),
            "irq": Out(1), "log_valid": Out(1), "log_data": Out(32), "done": Out(1), "done_value": Out(32),
            "in_handler": Out(1), "poll_state": Out(2), "poll_index": Out(6), "polls": Out(6), "cycle": Out(32),
            "wake": Out(1),
        })


@dataclass
class _Registers:
    """The peripheral's own state, made in ``elaborate`` and shared by its two halves (no attribute
    of the component is assigned there)."""

    host_write: object  # RegWriteSignature().create()
    delivered: Signal = field(default_factory=lambda: Signal(19, name="delivered"))  # DELIVERED's value
    exit_info: Signal = field(default_factory=lambda: Signal(32, name="exit_info"))  # EXIT's value
    sources: Signal = field(default_factory=lambda: Signal(16, name="sources"))  # SOURCES: the NMI sources' status bits
    ack_irq: Signal = field(default_factory=lambda: Signal(name="ack_irq"))  # a read of DELIVERED this cycle
    clear_sources: Signal = field(default_factory=lambda: Signal(16, name="clear_sources"))  # a write to SOURCES this cycle


class NmiPeripheral(wiring.Component):
    """``NmiTop`` behind a Wishbone port.

    Parameters
    ----------
    bugs : iterable of str
        Deliberate RTL defects, as for ``NmiTop``.
    host_state : bool
        Include ``NmiTop``'s host-state register file (the simulated SoC has it; the soak boards
        leave it out: 1,344 flip-flops an iCE40UP5K has no room for).
    soc_bugs : iterable of str
        Deliberate defects of the peripheral itself (``rtl.bugs.SOC_BUGS``).

    Attributes
    ----------
    bus : In(WishboneSignature)
        The CPU's data bus, within this peripheral's window (word index in ``adr``'s low bits).
    cfg : In(ConfigSignature)
        The hardware configuration (module policy, entry path, NMI-source, phase lengths).
    env : In(EnvSignature)
        NMI arrivals and non-NMI TD exits.
    sw_cfg : In(32)
        The firmware's parameters, readable at CONFIG.
    mon : Out(MonitorSignature)
        For the testbench; ``mon.irq`` is also the CPU's interrupt: a delivered NMI the CPU has not
        yet acknowledged.
    """

    bus: In(WishboneSignature())
    cfg: In(ConfigSignature())
    env: In(EnvSignature())
    sw_cfg: In(32)
    mon: Out(MonitorSignature())

    def __init__(self, bugs=(), host_state=False, soc_bugs=()):
        self.bugs, self.host_state, self.soc_bugs = tuple(bugs), host_state, frozenset(soc_bugs)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = NmiTop(self.bugs, host_state=self.host_state)
        connect(m, flipped(self.cfg), dut.cfg)
        for name, signature in (("status", StatusSignature()), ("ev", EventSignature()), ("stim", StimulusSignature())):
            forward(m, getattr(dut, name), getattr(self.mon, name), signature)
        env = self.env
        m.d.comb += [dut.stim.nmi.eq(env.nmi), dut.stim.nmi_vector.eq(env.nmi_vector),
                     dut.stim.exit_req.eq(env.exit_req), dut.stim.exit_reason.eq(env.exit_reason)]
        r = _Registers(host_write=RegWriteSignature().create())  # the CPU's REG_WRITE (KVM's restores)
        if self.host_state:
            # One write port: the TD's writes while it runs (the CPU is held in ENTER then), else the CPU's.
            in_td = env.reg.we & (dut.status.mode == Mode.SEAM_NONROOT)
            with m.If(in_td):
                m.d.comb += [dut.stim.reg.we.eq(1), dut.stim.reg.addr.eq(env.reg.addr), dut.stim.reg.data.eq(env.reg.data)]
            with m.Else():
                m.d.comb += [dut.stim.reg.we.eq(r.host_write.we), dut.stim.reg.addr.eq(r.host_write.addr),
                             dut.stim.reg.data.eq(r.host_write.data)]
        self._state_registers(m, dut, r)
        bench_reads = self._bus(m, dut, r)
        stim = dut.stim
        from_env = env.nmi | env.exit_req | env.reg.we
        from_cpu = stim.seamcall | stim.iret | r.host_write.we
        if "soc_wake_ignores_cpu" in self.soc_bugs:
            from_cpu = 0
        m.d.comb += self.mon.wake.eq(dut.trace.wake | from_env | from_cpu | self.mon.log_valid | bench_reads)
        return m

    def _state_registers(self, m, dut, r):
        """What the CPU reads back: the interrupt, the last delivery, the last exit, the sources."""
        # The events of the edge before this cycle: a delivery owed now is at that SEAMRET's or IRET's
        # boundary (C3: the RIP it interrupts is R_seam, or where the IRET returned), before any host
        # instruction; the CPU's interrupt latency moves where it lands, not which boundary it is.
        at_boundary = Cat(dut.ev.seamret, dut.ev.iret)  # abi.BOUNDARIES
        with m.If(dut.status.deliverable):
            m.d.sync += [self.mon.irq.eq(1), r.delivered.eq(Cat(dut.status.bitmap, dut.cfg.fred, at_boundary))]
        with m.Elif(r.ack_irq):
            m.d.sync += self.mon.irq.eq(0)
        with m.If(dut.ev.exit):
            m.d.sync += r.exit_info.eq(Cat(dut.ev.exit_reason, Const(0, 9), dut.ev.exit_qual))
        arrival = Signal(16)
        with m.If(self.env.nmi & (self.env.nmi_vector != 0)):
            m.d.comb += arrival.eq(1 << self.env.nmi_vector)
        m.d.sync += r.sources.eq((r.sources & ~r.clear_sources) | arrival)

    def _bus(self, m, dut, r):
        """Requests: answered the cycle after, except ENTER (held until SEAMRET) and IRET (taken at a
        boundary no delivery takes)."""
        bus = self.bus
        index = bus.adr[0:4]
        request = bus.cyc & bus.stb & ~bus.ack
        entering, entered, cycle = Signal(), Signal(), Signal(32)
        value_lo, value_hi = Signal(32), Signal(32)
        m.d.sync += cycle.eq(cycle + 1)
        m.d.comb += self.mon.cycle.eq(cycle)
        owed = dut.status.deliverable | self.mon.irq
        readable = {"ENTERED": entered, "EXIT": r.exit_info, "SOURCES": r.sources, "DELIVERED": r.delivered,
                    "CONFIG": self.sw_cfg, "CYCLE": cycle, "ENV": self.env.done}
        m.d.sync += bus.ack.eq(0)
        # What changes the bench's pins from the next cycle on: HANDLER, DONE, the interrupt's acknowledgement.
        bench_reads = request & ((bus.we & ((index == INDEX["HANDLER"]) | (index == INDEX["DONE"]))) | r.ack_irq)
        with m.If(request):
            with m.Switch(index):
                with m.Case(INDEX["ENTER"]):
                    with m.If(entering):
                        with m.If(dut.ev.seamret):
                            m.d.sync += [bus.ack.eq(1), entering.eq(0)]
                    with m.Elif(owed):
                        m.d.sync += [bus.ack.eq(1), entered.eq(0)]
                    with m.Else():
                        m.d.comb += dut.stim.seamcall.eq(1)
                        m.d.sync += [entering.eq(1), entered.eq(1)]
                with m.Case(INDEX["IRET"]):
                    with m.If(~dut.status.deliverable):
                        m.d.comb += [dut.stim.iret.eq(1), dut.stim.iret_nmi.eq(bus.dat_w[0])]
                        m.d.sync += bus.ack.eq(1)
                with m.Default():
                    m.d.sync += bus.ack.eq(1)
                    with m.If(bus.we & (index == INDEX["SOURCES"])):
                        m.d.comb += r.clear_sources.eq(bus.dat_w[0:16])
                    with m.If(bus.we & (index == INDEX["LOG"])):
                        m.d.comb += [self.mon.log_valid.eq(1), self.mon.log_data.eq(bus.dat_w)]
                    with m.If(bus.we & (index == INDEX["REG_LO"])):
                        m.d.sync += value_lo.eq(bus.dat_w)
                    with m.If(bus.we & (index == INDEX["REG_HI"])):
                        m.d.sync += value_hi.eq(bus.dat_w)
                    with m.If(bus.we & (index == INDEX["REG_WRITE"])):
                        m.d.comb += [r.host_write.we.eq(1), r.host_write.addr.eq(bus.dat_w[0:5]),
                                     r.host_write.data.eq(Cat(value_lo, value_hi))]
                    with m.If(bus.we & (index == INDEX["HANDLER"])):
                        m.d.sync += [self.mon.in_handler.eq(bus.dat_w[0:abi.HANDLER_POLL_SHIFT] != 0),
                                     self.mon.poll_state.eq(bus.dat_w[abi.HANDLER_POLL_SHIFT:abi.HANDLER_POLL_SHIFT + 2]),
                                     self.mon.poll_index.eq(bus.dat_w[abi.HANDLER_INDEX_SHIFT:abi.HANDLER_INDEX_SHIFT + 6]),
                                     self.mon.polls.eq(bus.dat_w[abi.HANDLER_POLLS_SHIFT:abi.HANDLER_POLLS_SHIFT + 6])]
                    with m.If(bus.we & (index == INDEX["DONE"])):
                        m.d.sync += [self.mon.done.eq(1), self.mon.done_value.eq(bus.dat_w)]
                    with m.If(~bus.we & (index == INDEX["DELIVERED"])):
                        m.d.comb += r.ack_irq.eq(1)
                    for name, value in readable.items():
                        with m.If(index == INDEX[name]):
                            m.d.sync += bus.dat_r.eq(value)
        return bench_reads
