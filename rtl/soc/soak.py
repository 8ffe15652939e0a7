"""The soak core: the softcore SoC under an NMI storm, counting, reporting over a UART (``make soak``).

The firmware (in RAM from power-on) enters the TD forever (CONFIG's CFG_SOAK) while the storm
(``storm.py``) raises NMIs from several sources and the TD's own exits. Counters, read as data
(``SNAPSHOT``): what the hardware saw on the design's event pins, an inversion monitor, and Linux's
counters taken from the firmware's LOG_COUNTS records. Every 2**``period_log2`` cycles a snapshot
goes out on ``tx``: 0xA5, the word count, the words (little-endian), a checksum byte (the sum of
the bytes after the sync byte). The same core runs on the virtual board (Verilator behind a pty) and
on the FPGA boards (``SoakBoard``).
"""

from amaranth import Cat, ClockDomain, ClockSignal, Const, Elaboratable, Module, ResetSignal, Signal
from amaranth.lib import io, wiring
from amaranth.lib.wiring import In, Out, connect, flipped

from ..interfaces import ConfigSignature, resolve
from ..uart import UartTx
from . import abi
from .nmi_periph import MonitorSignature
from .soc import NmiSoc
from .storm import StormGenerator

SYNC = 0xA5
# The snapshot's words, in order: name -> meaning (the host decodes with this table).
SNAPSHOT = {
    "snapshot": "snapshot sequence number",
    "cycles": "cycles since reset (low 32 bits)",
    "nmis": "NMI arrivals (the design's nmi events)",
    "entries": "TD entries (SEAMCALLs)",
    "nmi_exits": "VM exits for an NMI",
    "deliveries": "NMI deliveries to the host",
    "drops": "arrivals dropped as NMIs, the latch being full (A2; their source bits stay pending)",
    "inversions": "deliveries after an NMI exit's SEAMRET and before KVM's IRET (the seed's inversion)",
    "normal": "Linux: events claimed by handlers (firmware)",
    "unknown": "Linux: unknown NMIs (firmware)",
    "swallow": "Linux: NMIs swallowed as back to back (firmware)",
    "external": "Linux: external-reason NMIs (firmware)",
    "passes": "Linux: default_do_nmi passes (firmware)",
}
FIRMWARE_COUNTS = abi.LOG_FIELDS["LOG_COUNTS"]  # the firmware's half, as its LOG_COUNTS record orders them

# Configurations: the hardware's policy and the firmware's, with phase lengths that leave room for
# the race (an NMI during the exit's SEAM-root work).
SOAK_CONFIGS = {
    "legacy": dict(fixed=0, fred=0, kvm="noinstr", fault=False),
    "fixed-noinstr": dict(fixed=1, fred=0, kvm="noinstr", fault=False),
    "fixed-late": dict(fixed=1, fred=0, kvm="late", fault=False),
    "fixed-late-faults": dict(fixed=1, fred=0, kvm="late", fault=True),
}
PHASES = dict(seamcall=4, vmentry=4, exit=12)
LATE_LOOPS = 8
NMI_RATE, EXIT_RATE = 200, 100  # per 65,536 cycles


def soak_pins(name: str) -> dict:
    """The soak core's configuration inputs for a named configuration."""
    c = SOAK_CONFIGS[name]
    sw = abi.sw_config(c["kvm"], "fred" if c["fred"] else "idt", False, 0, LATE_LOOPS if c["kvm"] == "late" else 0,
                       c["fault"], soak=True)
    return {"cfg__fixed": c["fixed"], "cfg__fred": c["fred"], "cfg__nmi_source": 0,
            **{f"cfg__{k}": v for k, v in PHASES.items()},
            "cfg__td_tsx": 0, "cfg__td_waitpkg": 0, "sw_cfg": sw, "nmi_rate": NMI_RATE, "exit_rate": EXIT_RATE}


class SoakCounters(wiring.Component):
    """The snapshot's counters, from the SoC's monitor port."""

    mon: In(MonitorSignature())

    def __init__(self):
        super().__init__()
        self.values = {name: Signal(32, name=f"count_{name}") for name in SNAPSHOT if name != "snapshot"}

    def elaborate(self, platform):
        m = Module()
        ev, v = self.mon.ev, self.values
        m.d.sync += v["cycles"].eq(v["cycles"] + 1)
        for name, event in (("nmis", ev.nmi), ("entries", ev.seamcall), ("deliveries", ev.deliver), ("drops", ev.drop),
                            ("nmi_exits", ev.exit & (ev.exit_reason == abi.EXIT_REASON_NMI))):
            with m.If(event):
                m.d.sync += v[name].eq(v[name] + 1)
        # The inversion: after the SEAMRET of an NMI exit, a delivery before KVM's IRET (an NMI-frame
        # IRET; a fault's IRET returns through another frame and does not end the window).
        last_exit_nmi, owed = Signal(), Signal()
        with m.If(ev.exit):
            m.d.sync += last_exit_nmi.eq(ev.exit_reason == abi.EXIT_REASON_NMI)
        with m.If(ev.seamret):
            m.d.sync += owed.eq(last_exit_nmi)
        with m.Elif(ev.deliver):
            m.d.sync += owed.eq(0)
            with m.If(owed):
                m.d.sync += v["inversions"].eq(v["inversions"] + 1)
        with m.Elif(ev.iret & ev.iret_nmi):
            m.d.sync += owed.eq(0)
        # Linux's counters: the words after a LOG_COUNTS tag, taken only when the whole record came
        # without another record's tag inside it (an NMI handler can log in the middle of it).
        tag = abi.LOG_TAG | abi.LOG_KINDS["LOG_COUNTS"] << 8 | len(FIRMWARE_COUNTS)
        staged = [Signal(32, name=f"staged_{name}") for name in FIRMWARE_COUNTS]
        left = Signal(range(len(FIRMWARE_COUNTS) + 1))
        with m.If(self.mon.log_valid):
            with m.If(self.mon.log_data == tag):
                m.d.sync += left.eq(len(FIRMWARE_COUNTS))
            with m.Elif(self.mon.log_data[16:] == abi.LOG_TAG >> 16):
                m.d.sync += left.eq(0)  # another record began: this one is abandoned
            with m.Elif(left != 0):
                m.d.sync += left.eq(left - 1)
                for i in range(len(FIRMWARE_COUNTS)):
                    with m.If(left == len(FIRMWARE_COUNTS) - i):
                        m.d.sync += staged[i].eq(self.mon.log_data)
                with m.If(left == 1):  # the record is complete: publish it whole
                    m.d.sync += [v[name].eq(staged[i]) for i, name in enumerate(FIRMWARE_COUNTS[:-1])]
                    m.d.sync += v[FIRMWARE_COUNTS[-1]].eq(self.mon.log_data)
        return m


class SnapshotSender(wiring.Component):
    """Every 2**``period_log2`` cycles, the counters' values out as one frame on a UART.

    Attributes
    ----------
    words : In(32 * (len(SNAPSHOT) - 1))
        The counters after the sequence number, in ``SNAPSHOT`` order (word i in bits 32*i..32*i+31).
    tx : Out(1)
        The UART line.
    """

    def __init__(self, divisor: int, period_log2: int):
        self.divisor, self.period_log2 = divisor, period_log2
        super().__init__({"words": In(32 * (len(SNAPSHOT) - 1)), "tx": Out(1, init=1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.uart = uart = UartTx(self.divisor)
        m.d.comb += self.tx.eq(uart.tx)
        n = len(SNAPSHOT)
        frame = Signal(8 * (2 + 4 * n))  # sync, count, the words; the checksum follows
        timer = Signal(self.period_log2)
        index = Signal(range(len(frame) // 8 + 2))
        checksum = Signal(8)
        sending, sequence = Signal(), Signal(32)
        m.d.sync += timer.eq(timer + 1)
        with m.If(~sending & (timer == 0)):
            m.d.sync += [frame.eq(Cat(Const(SYNC, 8), Const(n, 8), sequence, self.words)), index.eq(0), checksum.eq(0),
                         sending.eq(1), sequence.eq(sequence + 1)]
        with m.If(sending):
            last = len(frame) // 8
            byte = Signal(8)
            m.d.comb += byte.eq(frame.word_select(index, 8))
            with m.If(index == last):
                m.d.comb += [uart.data.eq(checksum), uart.valid.eq(1)]
            with m.Else():
                m.d.comb += [uart.data.eq(byte), uart.valid.eq(1)]
            with m.If(uart.ready):
                m.d.sync += index.eq(index + 1)
                with m.If(index != 0):
                    m.d.sync += checksum.eq(checksum + byte)
                with m.If(index == last):
                    m.d.sync += sending.eq(0)
        return m


class SoakCore(wiring.Component):
    """The SoC, the storm, the counters and the snapshot UART.

    Parameters
    ----------
    firmware : sequence of int
        The firmware image's words (RAM contents from power-on).
    divisor : int
        Clock cycles per UART bit.
    period_log2 : int
        A snapshot every 2**period_log2 cycles.

    Attributes
    ----------
    cfg : In(ConfigSignature)
        The hardware configuration (``soak_pins``).
    sw_cfg : In(32)
        The firmware's CONFIG word (CFG_SOAK set).
    nmi_rate, exit_rate : In(16)
        The storm's rates (per 65,536 cycles).
    tx : Out(1)
        Snapshots.
    """

    cfg: In(ConfigSignature())
    sw_cfg: In(32)
    nmi_rate: In(16)
    exit_rate: In(16)
    tx: Out(1, init=1)

    def __init__(self, firmware, divisor=12, period_log2=20, bugs=()):
        self.firmware, self.divisor, self.period_log2, self.bugs = tuple(firmware), divisor, period_log2, bugs
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.soc = soc = NmiSoc(self.bugs, self.firmware)
        m.submodules.storm = storm = StormGenerator()
        m.submodules.counters = counters = SoakCounters()
        m.submodules.sender = sender = SnapshotSender(self.divisor, self.period_log2)
        connect(m, flipped(self.cfg), soc.cfg)
        connect(m, storm.env, soc.env)
        connect(m, soc.mon, counters.mon)
        m.d.comb += [soc.sw_cfg.eq(self.sw_cfg), storm.nmi_rate.eq(self.nmi_rate), storm.exit_rate.eq(self.exit_rate),
                     soc.hold.eq(0), soc.load_we.eq(0), self.tx.eq(sender.tx)]
        m.d.comb += sender.words.eq(Cat(*counters.values.values()))
        return m


class SoakBoard(Elaboratable):
    """The soak core on an FPGA board: configuration fixed at build time, snapshots on the board's
    USB UART at 1 Mbaud.

    The CPU needs a reset, which not every platform's default domain has (the ULX3S's is reset-less),
    so the board makes its own: ``sync`` on the board clock, held in reset for 256 cycles after
    configuration by a counter in a reset-less domain (also past the iCE40's block-RAM start-up).
    """

    POR_CYCLES_LOG2 = 8

    def __init__(self, firmware, config: str, baud: int = 1_000_000):
        self.firmware, self.config, self.baud = firmware, config, baud

    def elaborate(self, platform):
        m = Module()
        m.domains.por = ClockDomain(reset_less=True, local=True)
        m.domains.sync = ClockDomain()
        clk = platform.request(platform.default_clk, dir="-")
        m.submodules.clk_buffer = clk_buffer = io.Buffer("i", clk)
        m.d.comb += [ClockSignal("por").eq(clk_buffer.i), ClockSignal("sync").eq(clk_buffer.i)]
        count = Signal(self.POR_CYCLES_LOG2 + 1)
        with m.If(~count[-1]):
            m.d.por += count.eq(count + 1)
        m.d.comb += ResetSignal("sync").eq(~count[-1])
        divisor = int(platform.default_clk_frequency // self.baud)
        m.submodules.core = core = SoakCore(self.firmware, divisor)
        for name, value in soak_pins(self.config).items():
            m.d.comb += resolve(core, name).eq(value)
        uart = platform.request("uart", 0, dir={"rx": "-", "tx": "-"})
        m.submodules.tx_buffer = tx_buffer = io.Buffer("o", uart.tx)
        m.d.comb += tx_buffer.o.eq(core.tx)
        return m
