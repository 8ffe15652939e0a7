"""The softcore in the loop without a Python bench: the SoC, the environment player and the trace
behind one register port (``REGISTERS``).

The host (the raw Verilator harness through the port itself, a board through the UART bridge of
``rtl/board_top.py``) writes a scenario's configuration, the firmware's CONFIG word, the player's
program and the TD's register writes, the host-state table into RAM, and the run's bound; CTRL
starts the run (the SoC, the player and the trace restart; the RAM keeps the firmware); the run
stops when the firmware writes DONE or at the bound; the host reads the trace back and checks it
(``tb.check.softcore_trace``) as the cocotb bench checks its samples.
"""

from amaranth import Array, Cat, Elaboratable, Module, ResetInserter, Signal
from amaranth.lib import io, wiring
from amaranth.lib.wiring import In, Out

from ..board_top import FrameBridge
from ..bugs import PLAYER_BUGS, check_bugs
from ..interfaces import resolve
from ..uart import UartRx, UartTx
from .env_player import GUEST_WRITES_DEPTH, PROGRAM_DEPTH, EnvironmentPlayer
from .soc import RAM_WORDS, NmiSoc
from .trace import REGS_WIDTH, SAMPLE_WIDTH, SampleTrace

SOFTCORE_ID = 0x4E4D5331  # "NMS1"
TRACE_STRIDE = 16  # address words per trace record (SAMPLE_WIDTH <= 512)
REGS_STRIDE = 64  # per register-file record (REGS_WIDTH <= 2048)
# The register map, described once: name -> (word address, access, meaning). The host session
# (tb/protocol/softcore_session.py) and the harness use these addresses.
REGISTERS = {
    "ID": (0x0000, "r", "SOFTCORE_ID"),
    "CTRL": (0x0001, "w", "bit 0: start a run (the SoC, the player and the trace restart; the RAM is kept)"),
    "STATUS": (0x0002, "r", "bit 0 the firmware wrote DONE, 1 stopped at BOUND, 2 a trace memory overflowed, "
                             "3 running"),
    "CFG": (0x0003, "rw", "the configuration's flags (CFG_FIELDS)"),
    "LENS": (0x0004, "rw", "the phase lengths (LENS_FIELDS)"),
    "STEPS": (0x0005, "rw", "the zero-step mitigation (STEPS_FIELDS)"),
    "SW_CFG": (0x0006, "rw", "the firmware's CONFIG word"),
    "BOUND": (0x0007, "rw", "the run's last cycle (it stops there unless DONE came first)"),
    "COUNTS": (0x0008, "r", "trace records (15..0), register-file records (31..16)"),
    "DONE_VALUE": (0x0009, "r", "the value the firmware wrote to DONE"),
    "CYCLES": (0x000A, "r", "the cycle the run stopped in"),
    "GUEST_COUNT": (0x000B, "rw", "how many of GUEST's entries the TD writes in each guest phase"),
    "INFO": (0x000C, "r", "trace depth (15..0), register-file depth (31..16)"),
    "ENV": (0x0100, "w", "ENV + i: the player's step i (rtl/soc/env_player.py)"),
    "GUEST": (0x0200, "w", "GUEST + 4i + k: the TD's write i: k=0 register, 1 value bits 31..0, 2 bits 63..32 "
                           "(the entry is written with k=2)"),
    "RAM": (0x1000, "w", "RAM + i: the SoC's RAM word i (taken only between runs)"),
    "REGS": (0x2000, "r", "REGS + REGS_STRIDE*i + k: bits 32k.. of register-file record i"),
    "TRACE": (0x8000, "r", "TRACE + TRACE_STRIDE*i + k: bits 32k.. of trace record i"),
}
ADDRESS = {name: addr for name, (addr, _, _) in REGISTERS.items()}
CFG_FIELDS = (("cfg__fixed", 1), ("cfg__fred", 1), ("cfg__nmi_source", 1), ("cfg__td_tsx", 1), ("cfg__td_waitpkg", 1))
LENS_FIELDS = (("cfg__seamcall", 8), ("cfg__vmentry", 8), ("cfg__exit", 8))
STEPS_FIELDS = (("cfg__steps", 8), ("cfg__step", 8), ("cfg__step_window", 8))
STATUS_BITS = {"done": 1 << 0, "bounded": 1 << 1, "overflow": 1 << 2, "running": 1 << 3}
assert SAMPLE_WIDTH <= 32 * TRACE_STRIDE and REGS_WIDTH <= 32 * REGS_STRIDE


class RegisterPort(wiring.Signature):
    """A register write (one cycle) and a read (``rd_data`` two cycles after ``rd_addr``): the UART
    bridge's register side (``FrameBridge``)."""

    def __init__(self):
        super().__init__({"wr_en": Out(1), "wr_addr": Out(16), "wr_data": Out(32), "rd_addr": Out(16),
                          "rd_data": In(32)})


class SoftcoreCore(wiring.Component):
    """The SoC with its firmware in RAM from power-on, the environment player and the trace.

    Parameters
    ----------
    firmware : sequence of int
        The RAM's power-on contents (the host may rewrite any word between runs).
    bugs : iterable of str
        Deliberate RTL defects (``rtl.bugs``), in the design or the SoC.
    host_state : bool
        The design's host-state register file, and its records in the trace.
    trace_depth, regs_depth : int
        Trace records; register-file records.

    Attributes
    ----------
    port : In(RegisterPort)
        The host's register port.
    running : Out(1)
        A run is on (the raw harness clocks until it falls).
    """

    port: In(RegisterPort())
    running: Out(1)

    def __init__(self, firmware, bugs=(), host_state=True, trace_depth=2048, regs_depth=64):
        self.firmware, self.bugs = tuple(firmware), check_bugs(bugs, soc=True)
        self.host_state, self.trace_depth = host_state, trace_depth
        self.regs_depth = regs_depth if host_state else 0
        assert trace_depth * TRACE_STRIDE <= 0x8000 and self.regs_depth * REGS_STRIDE <= 0x1000
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        start = Signal()
        soc = NmiSoc(self.bugs, self.firmware, host_state=self.host_state)
        m.submodules.soc = ResetInserter(start)(soc)  # the RAM's contents are not reset
        m.submodules.player = player = EnvironmentPlayer(self.bugs & PLAYER_BUGS)
        m.submodules.trace = trace = SampleTrace(self.trace_depth, self.regs_depth)
        wiring.connect(m, soc.mon, trace.mon)
        wiring.connect(m, player.env, soc.env)

        cycle, bound, stopped = Signal(32), Signal(32), Signal(2)  # stopped: done (bit 0), at the bound (bit 1)
        first = Signal()
        mon = soc.mon
        # Between runs the player stands at its first step: nothing reaches the SoC.
        m.d.comb += [player.restart.eq(start | ~self.running), player.phase.eq(mon.status.phase),
                     player.latch.eq(mon.status.latch), player.irq.eq(mon.irq), player.in_handler.eq(mon.in_handler),
                     player.poll_state.eq(mon.poll_state), player.poll_index.eq(mon.poll_index),
                     player.polls.eq(mon.polls)]
        last = self.running & (mon.done | (cycle == bound))
        m.d.comb += [soc.hold.eq(~self.running), trace.restart.eq(start), trace.running.eq(self.running),
                     trace.first.eq(first), trace.last.eq(last)]
        with m.If(start):
            m.d.sync += [self.running.eq(1), cycle.eq(0), first.eq(1), stopped.eq(0)]
        with m.Elif(self.running):
            m.d.sync += first.eq(0)
            with m.If(last):  # CYCLES keeps the cycle the run stopped in
                m.d.sync += [self.running.eq(0), stopped.eq(Cat(mon.done, ~mon.done))]
            with m.Else():
                m.d.sync += cycle.eq(cycle + 1)

        registers = {name: Signal(sum(w for _, w in fields), name=name.lower())
                     for name, fields in (("CFG", CFG_FIELDS), ("LENS", LENS_FIELDS), ("STEPS", STEPS_FIELDS))}
        for name, fields in (("CFG", CFG_FIELDS), ("LENS", LENS_FIELDS), ("STEPS", STEPS_FIELDS)):
            shift = 0
            for pin, width in fields:
                m.d.comb += resolve(soc, pin).eq(registers[name][shift:shift + width])
                shift += width
        sw_cfg, guest_count, done_value = Signal(32), Signal(range(GUEST_WRITES_DEPTH + 1)), Signal(32)
        m.d.comb += [soc.sw_cfg.eq(sw_cfg), player.guest_count.eq(guest_count)]
        with m.If(mon.done & self.running):
            m.d.sync += done_value.eq(mon.done_value)
        status = Cat(stopped, trace.overflow, self.running)
        counts = trace.count | (trace.regs_count << 16) if self.regs_depth else trace.count
        readable = {"ID": SOFTCORE_ID, "STATUS": status, **registers, "SW_CFG": sw_cfg, "BOUND": bound,
                    "COUNTS": counts, "DONE_VALUE": done_value, "CYCLES": cycle, "GUEST_COUNT": guest_count,
                    "INFO": self.trace_depth | self.regs_depth << 16}
        self._writes(m, soc, player, start, registers, sw_cfg, bound, guest_count)
        self._reads(m, trace, readable)
        return m

    def _writes(self, m, soc, player, start, registers, sw_cfg, bound, guest_count):
        port = self.port
        addr, data = port.wr_addr, port.wr_data
        guest_reg, guest_lo = Signal(5), Signal(32)
        with m.If(port.wr_en):
            with m.If(addr == ADDRESS["CTRL"]):
                m.d.comb += start.eq(data[0])
            for name, target in (*registers.items(), ("SW_CFG", sw_cfg), ("BOUND", bound),
                                 ("GUEST_COUNT", guest_count)):
                with m.If(addr == ADDRESS[name]):
                    m.d.sync += target.eq(data)
            with m.If((addr >= ADDRESS["ENV"]) & (addr < ADDRESS["ENV"] + PROGRAM_DEPTH)):
                m.d.comb += [player.prog_we.eq(1), player.prog_addr.eq(addr - ADDRESS["ENV"]), player.prog_data.eq(data)]
            with m.If((addr >= ADDRESS["GUEST"]) & (addr < ADDRESS["GUEST"] + 4 * GUEST_WRITES_DEPTH)):
                k = addr[0:2]
                with m.If(k == 0):
                    m.d.sync += guest_reg.eq(data)
                with m.If(k == 1):
                    m.d.sync += guest_lo.eq(data)
                with m.If(k == 2):
                    m.d.comb += [player.guest_we.eq(1), player.guest_addr.eq((addr - ADDRESS["GUEST"])[2:]),
                                 player.guest_reg.eq(guest_reg), player.guest_data.eq(Cat(guest_lo, data))]
            with m.If((addr >= ADDRESS["RAM"]) & (addr < ADDRESS["RAM"] + RAM_WORDS) & ~self.running):
                m.d.comb += [soc.load_we.eq(1), soc.load_addr.eq(addr - ADDRESS["RAM"]), soc.load_data.eq(data)]

    def _reads(self, m, trace, readable):
        """Register reads; the trace memories answer a cycle after their address, the port a cycle later."""
        port = self.port
        rd_addr = port.rd_addr
        value = Signal(32)
        m.d.comb += trace.addr.eq((rd_addr - ADDRESS["TRACE"])[4:15])
        trace_words = Array(trace.data[32 * k:min(32 * (k + 1), SAMPLE_WIDTH)] for k in range(TRACE_STRIDE))
        regs_words = None
        if self.regs_depth:
            m.d.comb += trace.regs_addr.eq((rd_addr - ADDRESS["REGS"])[6:12])
            regs_words = Array(trace.regs_data[32 * k:min(32 * (k + 1), REGS_WIDTH)] for k in range(REGS_STRIDE))
        word = Signal(16)  # the address the memories' outputs belong to (they read synchronously)
        m.d.sync += word.eq(rd_addr)
        with m.If(word >= ADDRESS["TRACE"]):
            m.d.comb += value.eq(trace_words[word[0:4]])
        with m.Elif((word >= ADDRESS["REGS"]) & (word < ADDRESS["REGS"] + 0x1000)):
            if regs_words is not None:
                m.d.comb += value.eq(regs_words[word[0:6]])
        with m.Else():
            with m.Switch(word):
                for name, signal in readable.items():
                    with m.Case(ADDRESS[name]):
                        m.d.comb += value.eq(signal)
        m.d.sync += port.rd_data.eq(value)


class SoftcoreBoardCore(wiring.Component):
    """``SoftcoreCore`` behind the UART bridge (``rtl/board_top.py``'s frames): the virtual board's and
    the FPGA's gateware.

    Attributes
    ----------
    rx : In
    tx : Out
        The UART lines.
    """

    rx: In(1, init=1)
    tx: Out(1, init=1)

    def __init__(self, firmware, divisor=12, bugs=(), host_state=True, trace_depth=2048, regs_depth=64):
        self.divisor = divisor
        self.core = SoftcoreCore(firmware, bugs, host_state, trace_depth, regs_depth)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.rxu = rxu = UartRx(self.divisor)
        m.submodules.txu = txu = UartTx(self.divisor)
        m.submodules.bridge = bridge = FrameBridge(self.divisor)
        m.submodules.core = core = self.core
        m.d.comb += [rxu.rx.eq(self.rx), self.tx.eq(txu.tx),
                     bridge.rx_data.eq(rxu.data), bridge.rx_valid.eq(rxu.valid),
                     txu.data.eq(bridge.tx_data), txu.valid.eq(bridge.tx_valid), bridge.tx_ready.eq(txu.ready)]
        port = core.port
        m.d.comb += [port.wr_en.eq(bridge.wr_en), port.wr_addr.eq(bridge.wr_addr), port.wr_data.eq(bridge.wr_data),
                     port.rd_addr.eq(bridge.rd_addr), bridge.rd_data.eq(port.rd_data)]
        return m


class SoftcoreBoard(Elaboratable):
    """``SoftcoreBoardCore`` on an FPGA board: the platform's clock, its UART pins, a power-on reset."""

    def __init__(self, firmware, baud=1_000_000, **options):
        self.firmware, self.baud, self.options = firmware, baud, options

    def elaborate(self, platform):
        from amaranth import ClockDomain, ClockSignal, ResetSignal

        m = Module()
        m.domains.por = ClockDomain(reset_less=True, local=True)
        m.domains.sync = ClockDomain()
        clk = platform.request(platform.default_clk, dir="-")
        m.submodules.clk_buffer = clk_buffer = io.Buffer("i", clk)
        m.d.comb += [ClockSignal("por").eq(clk_buffer.i), ClockSignal("sync").eq(clk_buffer.i)]
        count = Signal(9)
        with m.If(~count[-1]):
            m.d.por += count.eq(count + 1)
        m.d.comb += ResetSignal("sync").eq(~count[-1])
        divisor = round(platform.default_clk_frequency / self.baud)
        m.submodules.board = board = SoftcoreBoardCore(self.firmware, divisor, **self.options)
        uart = platform.request("uart", 0, dir={"rx": "-", "tx": "-"})
        m.submodules.rx_buffer = rx_buffer = io.Buffer("i", uart.rx)
        m.submodules.tx_buffer = tx_buffer = io.Buffer("o", uart.tx)
        m.d.comb += [board.rx.eq(rx_buffer.i), tx_buffer.o.eq(board.tx)]
        return m
