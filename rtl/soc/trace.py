"""The softcore's trace: what the checks read, recorded in block RAM as the SoC runs, read back after.

A record is the SoC monitor port's ``SAMPLED`` pins during one cycle (the same fields, in the same
order, as the cocotb bench's one-read sample port): the design's events, state and stimulus (the
inputs the CPU and the environment drove), the firmware's LOG store and status, HANDLER and CYCLE.
A cycle is recorded when it is one an event-driven bench looks at: the SoC's ``wake`` is high in it
or in the cycle before (what a woken cycle changed shows in the next one), the run's first cycle,
and the cycle the run stops in. Between records the stimulus is idle and nothing the checks read
changes (``MonitorSignature``), so the records are the whole run. With the host-state register file,
the file itself (1,344 bits) goes to a second memory at the cycles the checks read it: the run's
first cycle and after an edge that wrote it or ran SEAMRET. A full memory sets ``overflow`` and
keeps what it holds: the run is then reported unchecked, never passed.
"""

from amaranth import Cat, Module, Signal
from amaranth.hdl import Value
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..interfaces import port_table, resolve
from ..top import PORTS
from .nmi_periph import MonitorSignature

# What the checks read each cycle, first name in the low bits; shared with the cocotb bench's packed
# port (tb/protocol/pins.py's SOC_SAMPLED is this tuple).
STATE_PINS = ("status__phase", "status__blocked", "status__latch", "status__saved_blocked", "status__bitmap")
SAMPLED = (*(name for name in PORTS if name.startswith("ev__")), *STATE_PINS,
           *(name for name in PORTS if name.startswith("stim__")), "done", "log_valid", "log_data", "cycle",
           "in_handler", "poll_state", "poll_index", "polls", "irq", "wake")
REGS_PIN = "status__host_regs"
CHECKPOINT_EVENTS = ("ev__write", "ev__seamret")  # the register file is read after these edges


def sample_fields() -> list[tuple[str, int]]:
    """``SAMPLED``'s (name, width), from the monitor port's signature."""
    mon = MonitorSignature().create()
    return [(name, len(Value.cast(resolve(mon, name)))) for name in SAMPLED]


SAMPLE_WIDTH = sum(width for _, width in sample_fields())
REGS_WIDTH = len(Value.cast(resolve(MonitorSignature().create(), REGS_PIN)))
assert all(name in port_table(MonitorSignature()) for name in SAMPLED)


class SampleTrace(wiring.Component):
    """Records the monitor port's samples (and the register file at its checkpoints).

    Parameters
    ----------
    depth : int
        Records.
    regs_depth : int
        Register-file records (0: no host-state register file).

    Attributes
    ----------
    mon : In(MonitorSignature)
        The SoC's monitor port.
    restart : In(1)
        Empty the trace (the run's start).
    running, first, last : In(1)
        The run is on; this is its first cycle; the cycle it stops in.
    addr, regs_addr : In
    data, regs_data : Out
        Readback: record ``addr`` one cycle later.
    count, regs_count, overflow : Out
        Records written; a record did not fit.
    """

    def __init__(self, depth: int, regs_depth: int = 0):
        self.depth, self.regs_depth = depth, regs_depth
        members = dict(mon=In(MonitorSignature()), restart=In(1), running=In(1), first=In(1), last=In(1),
                       addr=In(range(depth)), data=Out(SAMPLE_WIDTH), count=Out(range(depth + 1)), overflow=Out(1))
        if regs_depth:
            members.update(regs_addr=In(range(regs_depth)), regs_data=Out(REGS_WIDTH),
                           regs_count=Out(range(regs_depth + 1)))
        super().__init__(wiring.Signature(members))

    def elaborate(self, platform):
        m = Module()
        woke = Signal()  # the SoC's wake in the cycle before
        m.d.sync += woke.eq(self.mon.wake & self.running & ~self.restart)
        record = self.running & (self.mon.wake | woke | self.first | self.last)
        sample = Cat(*(resolve(self.mon, name) for name in SAMPLED))
        self._memory(m, "samples", sample, record, self.depth, self.addr, self.data, self.count)
        if self.regs_depth:
            checkpoint = record & (self.first | Cat(*(resolve(self.mon, n) for n in CHECKPOINT_EVENTS)).any())
            self._memory(m, "regs", resolve(self.mon, REGS_PIN), checkpoint, self.regs_depth, self.regs_addr,
                         self.regs_data, self.regs_count)
        return m

    def _memory(self, m, name, value, write, depth, addr, data, count):
        value = Value.cast(value)  # the register file is an array view: its bits, not its length
        m.submodules[name] = mem = Memory(shape=len(value), depth=depth, init=[])
        wr, rd = mem.write_port(), mem.read_port()
        full = count == depth
        m.d.comb += [wr.addr.eq(count), wr.data.eq(value), wr.en.eq(write & ~full), rd.addr.eq(addr), data.eq(rd.data)]
        with m.If(self.restart):
            m.d.sync += [count.eq(0), self.overflow.eq(0)]
        with m.Elif(write):
            with m.If(full):
                m.d.sync += self.overflow.eq(1)
            with m.Else():
                m.d.sync += count.eq(count + 1)
