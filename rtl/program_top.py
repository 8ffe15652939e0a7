"""Program mode: a host engine that plays a compiled program at clock speed, and a trace buffer.

The engine (the project's softcore) drives the design's stimulus pins from a program in its own
memory: waits on cycles and on the design's events, and pin drives (SEAMCALL, IRET, NMI with a
vector, non-NMI exits). The trace buffer stores every edge that produced an event, and every
edge that began in a state where the hardware owed one (an NMI deliverable in VMX root, or latched
while the TD ran), stamped with its cycle and the NMI state around it, for readback after the run;
overflow is flagged, never silent.

Instruction set (32-bit words, opcode in bits 31..28):

=========  ======  ==========================================================================
opcode     name    meaning
=========  ======  ==========================================================================
0          END     stop; ``done`` rises
1          DELAY   stay idle for ``n`` cycles (bits 23..0, n >= 1), then go on
2          AWAIT   idle until event ``e`` (bits 3..0, see ``EVENTS``) is seen, at most 65535
                   cycles (else ``error``); the next instruction runs in that same cycle
3          DRIVE   for one cycle: nmi (bit 0), vector (4..1), seamcall (5), iret (6),
                   exit_req (7), exit_reason (14..8), and with the host-state unit a register
                   write: reg.we (15), reg.addr (20..16), value = data table entry (27..21)
7          DRIVE   the same, with iret_nmi: the IRET returns through an NMI frame (bit 30 is
                   ``iret_nmi``: ``OP_DRIVE | OP_NMI_FRAME``)
=========  ======  ==========================================================================

With the host-state unit (simulation), a 128-entry table of 64-bit values (loaded like the
program) feeds register writes, trace entries also carry register writes, and the register file
can be read back after the run (``regs_addr`` -> ``regs_data``).
"""

from amaranth import Array, Cat, Const, Module, ResetInserter, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .interfaces import ConfigSignature, Phase, resolve
from .top import NmiTop

OP_END, OP_DELAY, OP_AWAIT, OP_DRIVE = 0, 1, 2, 3
OP_NMI_FRAME = 4  # DRIVE's flag: the IRET returns through an NMI frame (bit 30 of the word)
# A DRIVE word's fields: name -> (lowest bit, width). The gateware decodes them, the compiler
# (tb/protocol/program.py) packs them, both from this table. ``data_index`` selects the value
# table entry a register write takes; ``iret_nmi`` is the opcode's OP_NMI_FRAME bit (bit 30).
# Field names are NmiTop's stimulus pin names.
DRIVE_FIELDS = {"stim__nmi": (0, 1), "stim__nmi_vector": (1, 4), "stim__seamcall": (5, 1), "stim__iret": (6, 1),
                "stim__exit_req": (7, 1), "stim__exit_reason": (8, 7), "stim__reg__we": (15, 1),
                "stim__reg__addr": (16, 5), "data_index": (21, 7), "stim__iret_nmi": (30, 1)}
HOST_STATE_FIELDS = ("stim__reg__we", "stim__reg__addr", "data_index")
EVENTS = ("deliver", "nmi", "latch", "drop", "iret", "seamcall", "vmentry", "exit", "seamret", "step", "absorb",
          "unstep", "self_nmi")
AWAIT_LIMIT = 65535

# One trace entry: the edge's cycle, the design's registered event outputs, and the NMI state
# before and after the edge (what the reference-free invariants read), packed LSB first.
EVENT_FIELDS = (("ev__deliver", 1), ("ev__deliver_fred", 1), ("ev__deliver_bitmap", 16), ("ev__nmi", 1),
                ("ev__nmi_vector", 4), ("ev__latch", 1), ("ev__drop", 1), ("ev__iret", 1), ("ev__seamcall", 1),
                ("ev__seamcall_saved", 1), ("ev__vmentry", 1), ("ev__exit", 1), ("ev__exit_reason", 7),
                ("ev__exit_qual", 16), ("ev__seamret", 1), ("ev__seamret_blocked", 1), ("ev__iret_nmi", 1),
                ("ev__step", 1), ("ev__step_intr", 1), ("ev__absorb", 1), ("ev__absorb_intr", 1), ("ev__unstep", 1),
                ("ev__unstep_mtf", 1), ("ev__self_nmi", 1))
STATE_BEFORE_FIELDS = (("before_phase", 3), ("before_blocked", 1), ("before_latch", 1))
STATE_AFTER_FIELDS = (("after_phase", 3), ("after_blocked", 1), ("after_latch", 1), ("after_bitmap", 16))
TRACE_FIELDS = (("cycle", 24),) + EVENT_FIELDS + STATE_BEFORE_FIELDS + STATE_AFTER_FIELDS
TRACE_WIDTH = sum(w for _, w in TRACE_FIELDS)
# With the host-state unit, entries also carry the edge's register write.
TRACE_FIELDS_HS = TRACE_FIELDS + (("ev__write", 1), ("ev__write_addr", 5), ("ev__write_data", 64))
DATA_DEPTH = 128


def trace_fields(host_state: bool):
    return TRACE_FIELDS_HS if host_state else TRACE_FIELDS


class ProgramTop(wiring.Component):
    """NmiTop driven by the host engine, with a program memory and a trace buffer.

    Parameters
    ----------
    bugs : iterable of str
        Deliberate RTL defects, as for ``NmiTop``.
    program_depth, trace_depth : int
        Words of program memory; entries of trace buffer.

    Attributes
    ----------
    cfg : In(ConfigSignature)
        The configuration, as on ``NmiTop`` (the TD's attributes are ignored without the host-state unit).
    prog_we, prog_addr, prog_data : In
        Program memory write port (load before ``start``).
    start : In
        Start the program (the cycle after is cycle 0).
    done, error : Out
        The program reached END; an AWAIT timed out or the program ran off its memory.
    cycle : Out
        Cycles since start.
    trace_addr : In
    trace_data, trace_count, trace_overflow : Out
        Trace readback: entry ``trace_addr`` (one cycle later), entries written, more edges than entries.
    """

    def __init__(self, bugs=(), program_depth=1024, trace_depth=2048, host_state=True):
        self.bugs = tuple(bugs)
        self.program_depth, self.trace_depth = program_depth, trace_depth
        self.host_state = host_state  # the board leaves the host-state register file out
        self.fields = trace_fields(host_state)
        members = dict(
            cfg=In(ConfigSignature()), prog_we=In(1), prog_addr=In(10), prog_data=In(32), start=In(1), done=Out(1),
            error=Out(1), cycle=Out(24), trace_addr=In(11), trace_count=Out(12), trace_overflow=Out(1),
            trace_data=Out(sum(w for _, w in self.fields)))
        if host_state:
            members.update(data_we=In(1), data_addr=In(7), data_data=In(64),
                           regs_addr=In(5), regs_data=Out(64))
        super().__init__(wiring.Signature(members))

    def elaborate(self, platform):
        m = Module()
        # ``start`` also resets the design, so every program begins from the same state and a
        # restarted program (a retried start over a lossy link) repeats exactly.
        dut = NmiTop(self.bugs, host_state=self.host_state)
        m.submodules.dut = ResetInserter(self.start)(dut)
        wiring.connect(m, wiring.flipped(self.cfg), dut.cfg)
        events = Cat(*(getattr(dut.ev, name) for name in EVENTS))  # AWAIT's operand indexes these
        data_rd = self._value_table(m, dut) if self.host_state else None
        running = self._engine(m, dut, events, data_rd)
        self._trace(m, dut, running, Cat(events, dut.ev.write) if self.host_state else events)
        return m

    def _value_table(self, m, dut):
        """The host-state unit's side: the 64-bit value table register writes take, and the
        register file's readback. Returns the table's read port (simulation only)."""
        m.submodules.data = data = Memory(shape=64, depth=DATA_DEPTH, init=[])
        dw = data.write_port()
        m.d.comb += [dw.en.eq(self.data_we), dw.addr.eq(self.data_addr), dw.data.eq(self.data_data)]
        regs = [dut.status.host_regs[i] for i in range(len(dut.hs.regs))]
        m.d.comb += self.regs_data.eq(Array(regs)[self.regs_addr])
        return data.read_port(domain="comb")

    def _engine(self, m, dut, events, data_rd):
        """The host engine: program memory, pc, and the instructions. Returns ``running``."""
        m.submodules.prog = prog = Memory(shape=32, depth=self.program_depth, init=[])
        # Program memory: one write port (loading) and two synchronous reads (block RAM on an FPGA):
        # they are addressed with the next pc, so this cycle sees the word at pc and the one after.
        wr = prog.write_port()
        m.d.comb += [wr.en.eq(self.prog_we), wr.addr.eq(self.prog_addr), wr.data.eq(self.prog_data)]
        pc, pc_next = Signal(10), Signal(10)
        rd0, rd1 = prog.read_port(), prog.read_port()
        m.d.comb += [pc_next.eq(pc), rd0.addr.eq(pc_next), rd1.addr.eq(pc_next + 1)]
        m.d.sync += pc.eq(pc_next)

        running = Signal()
        delay = Signal(24)
        waited = Signal(16)

        def drive(word):
            for name, (low, width) in DRIVE_FIELDS.items():
                if name in HOST_STATE_FIELDS and not self.host_state:
                    continue
                target = data_rd.addr if name == "data_index" else resolve(dut, name)
                m.d.comb += target.eq(word[low:low + width])
            if self.host_state:
                m.d.comb += dut.stim.reg.data.eq(data_rd.data)

        def execute(word, step):
            """Run a DELAY or DRIVE (or END) word this cycle; ``step``: how far pc moves past it."""
            op = word[28:32]
            with m.Switch(op):
                with m.Case(OP_DRIVE, OP_DRIVE | OP_NMI_FRAME):
                    drive(word)
                    m.d.comb += pc_next.eq(pc + step)
                with m.Case(OP_DELAY):
                    n = Signal(25, name=f"delay_n{step}")  # as wide as delay + 1
                    m.d.comb += n.eq(word[0:24])
                    with m.If(delay + 1 >= n):
                        m.d.comb += pc_next.eq(pc + step)
                        m.d.sync += delay.eq(0)
                    with m.Else():
                        m.d.sync += delay.eq(delay + 1)
                        if step == 2:
                            m.d.comb += pc_next.eq(pc + 1)  # the AWAIT is behind us; the DELAY goes on
                with m.Case(OP_END):
                    m.d.sync += [running.eq(0), self.done.eq(1)]
                with m.Default():
                    m.d.sync += [running.eq(0), self.error.eq(1)]  # AWAIT after AWAIT, or a bad opcode

        with m.If(self.start):
            m.d.comb += pc_next.eq(0)
            m.d.sync += [running.eq(1), delay.eq(0), waited.eq(0), self.done.eq(0), self.error.eq(0),
                         self.cycle.eq(0)]
        with m.Elif(running):
            m.d.sync += self.cycle.eq(self.cycle + 1)
            op0 = rd0.data[28:32]
            with m.If(op0 == OP_AWAIT):
                awaited = Array([events[i] for i in range(len(EVENTS))] + [Const(0)] * (16 - len(EVENTS)))
                with m.If(awaited[rd0.data[0:4]]):
                    m.d.sync += waited.eq(0)
                    execute(rd1.data, 2)
                with m.Elif(waited == AWAIT_LIMIT):
                    m.d.sync += [running.eq(0), self.error.eq(1)]
                with m.Else():
                    m.d.sync += waited.eq(waited + 1)
            with m.Else():
                execute(rd0.data, 1)
            with m.If(pc == self.program_depth - 2):
                m.d.sync += [running.eq(0), self.error.eq(1)]  # ran off the program
        return running

    def _trace(self, m, dut, running, recorded):
        """The trace buffer: an entry for every cycle whose registered events (``recorded``) show an
        edge's activity, or whose previous cycle (the edge's own) owed an event."""
        m.submodules.trace = trace = Memory(shape=len(self.trace_data), depth=self.trace_depth, init=[])
        before = Signal(5)  # phase, blocked, latch during the edge's cycle (the events are registered)
        m.d.sync += before.eq(Cat(dut.status.phase, dut.status.blocked, dut.status.latch))
        before_phase = before[0:3]
        was_blocked, was_latched = before[3], before[4]
        owed = was_latched & (((before_phase == Phase.HOST.value) & ~was_blocked) | (before_phase == Phase.GUEST.value))
        # B6: the step back from STEP into the TD owes the module's self-NMI
        owed |= (before_phase == Phase.STEP.value) & (dut.status.phase == Phase.GUEST)
        tw = trace.write_port()
        events_part = Cat(*(resolve(dut, name) for name, _ in EVENT_FIELDS))
        after = Cat(dut.status.phase, dut.status.blocked, dut.status.latch, dut.status.bitmap)
        extra = Cat(*(resolve(dut, name) for name, _ in self.fields[len(TRACE_FIELDS):]))
        entry = Cat((self.cycle - 1)[:24], events_part, before, after, extra)  # 24-bit stamp
        any_event = recorded.any() | owed
        full = self.trace_count == self.trace_depth
        m.d.comb += [tw.addr.eq(self.trace_count), tw.data.eq(entry),
                     tw.en.eq(running & any_event & ~full & (self.cycle != 0))]
        with m.If(self.start):
            m.d.sync += [self.trace_count.eq(0), self.trace_overflow.eq(0)]
        with m.Elif(running & any_event & (self.cycle != 0)):
            with m.If(full):
                m.d.sync += self.trace_overflow.eq(1)
            with m.Else():
                m.d.sync += self.trace_count.eq(self.trace_count + 1)
        tr = trace.read_port()  # synchronous: trace_data shows the entry addressed in the previous cycle
        m.d.comb += [tr.addr.eq(self.trace_addr), self.trace_data.eq(tr.data)]
