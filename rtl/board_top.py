"""The board: program mode behind a register map, reached through a framed UART bridge.

Wire protocol (both directions: a sync byte, a command or status, a length, the payload, and a
CRC-8 (polynomial 0x07, initial 0) over everything after the sync byte):

    request   A5 cmd len payload[len] crc      cmd 01 WRITE: addr(2, LE) data(4, LE)
                                               cmd 02 READ:  addr(2, LE) count(1, 1..16)
    response  5A status len payload[len] crc   status 00 OK, 01 BAD_CRC, 02 BAD_LENGTH, 03 BAD_COMMAND

Bytes outside a frame are ignored until the next sync byte (resynchronisation); a frame that
stalls for ``FRAME_TIMEOUT_BYTES`` byte times is dropped. The host waits for each response before
sending the next request.

Register map (32-bit registers, word addresses): see ``REGISTERS``.
"""

from amaranth import Array, Cat, Elaboratable, Module, Signal
from amaranth.lib import io, wiring
from amaranth.lib.crc import Processor as CrcProcessor
from amaranth.lib.crc import catalog as crc_catalog
from amaranth.lib.wiring import In, Out

from .interfaces import resolve
from .program_top import TRACE_WIDTH, ProgramTop
from .uart import UartRx, UartTx

SYNC_REQUEST, SYNC_RESPONSE = 0xA5, 0x5A
CMD_WRITE, CMD_READ = 0x01, 0x02
OK, BAD_CRC, BAD_LENGTH, BAD_COMMAND = 0x00, 0x01, 0x02, 0x03
MAX_READ_WORDS = 16
FRAME_TIMEOUT_BYTES = 64
BOARD_ID = 0x4E4D4931  # "NMI1"

REGISTERS = {
    "ID": 0x0000,  # read: BOARD_ID
    "CTRL": 0x0001,  # write: bit 0 starts the program
    "STATUS": 0x0002,  # read: bit 0 done, bit 1 error, bit 2 trace overflow
    "CFG": 0x0003,  # read/write: bit 0 fixed module, bit 1 FRED entry, bit 2 NMI-source
    "LENS": 0x0004,  # read/write: seamcall (7..0), vmentry (15..8), exit (23..16)
    "TRACE_COUNT": 0x0005,  # read
    "CYCLE": 0x0006,  # read: cycles the program ran
    "INFO": 0x0007,  # read: program words (15..0), trace entries (31..16)
    "STEPS": 0x0008,  # read/write: zero-step mitigation (B6): steps (7..0; 0 off), step (15..8), window (23..16)
    "PROGRAM": 0x1000,  # write: PROGRAM + i is program word i
    "TRACE": 0x4000,  # read: TRACE + 4*i + k is bits 32k..32k+31 of trace entry i (k = 0..3)
}


# The configuration registers' fields, LSB first: the gateware slices them out, the host driver
# packs them (``pack_fields``), from this one description.
CFG_FIELDS = (("cfg__fixed", 1), ("cfg__fred", 1), ("cfg__nmi_source", 1))
LENS_FIELDS = (("cfg__seamcall", 8), ("cfg__vmentry", 8), ("cfg__exit", 8))
LENS_RESET = {"cfg__seamcall": 4, "cfg__vmentry": 2, "cfg__exit": 6}
STEPS_FIELDS = (("cfg__steps", 8), ("cfg__step", 8), ("cfg__step_window", 8))
STEPS_RESET = {"cfg__steps": 0, "cfg__step": 3, "cfg__step_window": 4}


def pack_fields(fields, values: dict) -> int:
    word, shift = 0, 0
    for name, width in fields:
        word |= (values.get(name, 0) & ((1 << width) - 1)) << shift
        shift += width
    return word


# The frame check: CRC-8/SMBUS (polynomial 0x07, initial 0, no reflection), from Amaranth's own
# catalog: the gateware's Processor and the host's tb/protocol/board_protocol.crc8 are one definition.
BRIDGE_CRC = crc_catalog.CRC8_SMBUS(data_width=8)


class FrameBridge(wiring.Component):
    """The framed request/response protocol (module docstring) as register reads and writes.

    Parameters
    ----------
    divisor : int
        Clock cycles per UART bit (a stalled frame is dropped after ``FRAME_TIMEOUT_BYTES`` byte times).

    Attributes
    ----------
    rx_data, rx_valid : In
        Received bytes.
    tx_data, tx_valid : Out
    tx_ready : In
        Bytes to send.
    wr_en, wr_addr, wr_data : Out
        A register write, for one cycle, once its frame checked out.
    rd_addr : Out
    rd_data : In
        Register reads: ``rd_data`` is taken two cycles after ``rd_addr`` changes (block RAM).
    """

    rx_data: In(8)
    rx_valid: In(1)
    tx_data: Out(8)
    tx_valid: Out(1)
    tx_ready: In(1)
    wr_en: Out(1)
    wr_addr: Out(16)
    wr_data: Out(32)
    rd_addr: Out(16)
    rd_data: In(32)

    def __init__(self, divisor):
        self.divisor = divisor
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        cmd, length, index = Signal(8), Signal(8), Signal(8)
        payload = Signal(48)  # bytes shift in from the top: a 6-byte payload ends up in order
        m.submodules.crc = crc_unit = CrcProcessor(BRIDGE_CRC)
        crc = crc_unit.crc  # over every byte since the frame's sync byte (registered, as the bytes are)
        status, resp_words = Signal(8), Signal(5)
        read_base = Signal(16)
        gap = Signal(range(FRAME_TIMEOUT_BYTES * 10 * self.divisor + 1))
        word, byte_in_word, words_left = Signal(32), Signal(2), Signal(5)
        b = self.rx_data

        def add_to_crc(value):
            m.d.comb += [crc_unit.valid.eq(1), crc_unit.data.eq(value)]

        def restart_crc():
            m.d.comb += crc_unit.start.eq(1)

        def send(value, next_state, update_crc=True):
            m.d.comb += [self.tx_valid.eq(1), self.tx_data.eq(value)]
            with m.If(self.tx_ready):
                if update_crc:
                    add_to_crc(value)
                m.next = next_state

        def respond(code, words=0):
            m.d.sync += [status.eq(code), resp_words.eq(words)]
            m.next = "SEND_SYNC"

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.rx_valid & (b == SYNC_REQUEST)):
                    m.d.sync += gap.eq(0)
                    restart_crc()
                    m.next = "CMD"
            for state in ("CMD", "LEN", "PAYLOAD", "CRC"):
                with m.State(state):
                    with m.If(self.rx_valid):
                        m.d.sync += gap.eq(0)
                        if state == "CMD":
                            m.d.sync += cmd.eq(b)
                            add_to_crc(b)
                            m.next = "LEN"
                        elif state == "LEN":
                            m.d.sync += [length.eq(b), index.eq(0)]
                            add_to_crc(b)
                            with m.If(b > 6):
                                respond(BAD_LENGTH)
                            with m.Elif(b == 0):
                                m.next = "CRC"
                            with m.Else():
                                m.next = "PAYLOAD"
                        elif state == "PAYLOAD":
                            m.d.sync += [payload.eq((payload >> 8) | (b << 40)), index.eq(index + 1)]
                            add_to_crc(b)
                            with m.If(index + 1 == length):
                                m.next = "CRC"
                        else:
                            with m.If(b == crc):
                                m.next = "EXECUTE"
                            with m.Else():
                                respond(BAD_CRC)
                    with m.Elif(gap == FRAME_TIMEOUT_BYTES * 10 * self.divisor):
                        m.next = "IDLE"  # the rest of the frame never came
                    with m.Else():
                        m.d.sync += gap.eq(gap + 1)
            with m.State("EXECUTE"):
                count = payload[40:48]
                with m.If((cmd == CMD_WRITE) & (length == 6)):
                    m.d.comb += [self.wr_en.eq(1), self.wr_addr.eq(payload[0:16]), self.wr_data.eq(payload[16:48])]
                    respond(OK)
                with m.Elif((cmd == CMD_READ) & (length == 3) & (count >= 1) & (count <= MAX_READ_WORDS)):
                    m.d.sync += read_base.eq(payload[24:40])
                    respond(OK, count)
                with m.Else():
                    respond(BAD_COMMAND)
            with m.State("SEND_SYNC"):
                send(SYNC_RESPONSE, "SEND_STATUS", update_crc=False)
                m.d.sync += [words_left.eq(resp_words), self.rd_addr.eq(read_base)]
                restart_crc()
            with m.State("SEND_STATUS"):
                send(status, "SEND_LEN")
            with m.State("SEND_LEN"):
                send(resp_words << 2, "FETCH")
            with m.State("FETCH"):
                with m.If(words_left == 0):
                    m.next = "SEND_CRC"
                with m.Else():
                    m.next = "FETCH_WAIT"  # rd_addr was set; the trace buffer answers next cycle
            with m.State("FETCH_WAIT"):
                m.next = "FETCH_LATCH"
            with m.State("FETCH_LATCH"):
                m.d.sync += [word.eq(self.rd_data), byte_in_word.eq(0)]
                m.next = "SEND_WORD"
            with m.State("SEND_WORD"):
                m.d.comb += [self.tx_valid.eq(1), self.tx_data.eq(word[0:8])]
                with m.If(self.tx_ready):
                    m.d.sync += [word.eq(word >> 8), byte_in_word.eq(byte_in_word + 1)]
                    add_to_crc(word[0:8])
                    with m.If(byte_in_word == 3):
                        m.d.sync += [words_left.eq(words_left - 1), self.rd_addr.eq(self.rd_addr + 1)]
                        m.next = "FETCH"
            with m.State("SEND_CRC"):
                send(crc, "IDLE", update_crc=False)
        return m


class BoardCore(wiring.Component):
    """ProgramTop behind the UART bridge; the part shared by the FPGA builds and the virtual board.

    Parameters
    ----------
    divisor : int
        Clock cycles per UART bit.
    program_depth, trace_depth : int
        Memory sizes (the board's are smaller than simulation's, to fit an iCE40UP5K).

    Attributes
    ----------
    rx : In
    tx : Out
        The UART lines.
    """

    rx: In(1, init=1)
    tx: Out(1, init=1)

    def __init__(self, divisor=12, program_depth=512, trace_depth=512, bugs=()):
        self.divisor = divisor
        self.program_depth, self.trace_depth = program_depth, trace_depth
        self.bugs = tuple(bugs)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.rxu = rxu = UartRx(self.divisor)
        m.submodules.txu = txu = UartTx(self.divisor)
        m.submodules.bridge = bridge = FrameBridge(self.divisor)
        m.submodules.core = core = ProgramTop(self.bugs, self.program_depth, self.trace_depth, host_state=False)
        m.d.comb += [rxu.rx.eq(self.rx), self.tx.eq(txu.tx),
                     bridge.rx_data.eq(rxu.data), bridge.rx_valid.eq(rxu.valid),
                     txu.data.eq(bridge.tx_data), txu.valid.eq(bridge.tx_valid), bridge.tx_ready.eq(txu.ready)]

        cfg = Signal(sum(w for _, w in CFG_FIELDS))
        lens = Signal(sum(w for _, w in LENS_FIELDS), init=pack_fields(LENS_FIELDS, LENS_RESET))
        steps = Signal(sum(w for _, w in STEPS_FIELDS), init=pack_fields(STEPS_FIELDS, STEPS_RESET))
        for register, fields in ((cfg, CFG_FIELDS), (lens, LENS_FIELDS), (steps, STEPS_FIELDS)):
            shift = 0
            for name, width in fields:
                m.d.comb += resolve(core, name).eq(register[shift:shift + width])
                shift += width
        self._reads(m, bridge, core, cfg, lens, steps)
        self._writes(m, bridge, core, cfg, lens, steps)
        return m

    def _reads(self, m, bridge, core, cfg, lens, steps):
        """Register reads: address -> value (the trace buffer reads synchronously)."""
        rd_addr = bridge.rd_addr
        m.d.comb += core.trace_addr.eq((rd_addr - REGISTERS["TRACE"])[2:16])
        assert TRACE_WIDTH <= 128, "a trace entry is read as four 32-bit words"
        trace_word = Array(core.trace_data[32 * k:min(32 * (k + 1), TRACE_WIDTH)] for k in range(4))[rd_addr[0:2]]
        readable = {"ID": BOARD_ID, "STATUS": Cat(core.done, core.error, core.trace_overflow), "CFG": cfg,
                    "LENS": lens, "STEPS": steps, "TRACE_COUNT": core.trace_count, "CYCLE": core.cycle,
                    "INFO": self.program_depth | (self.trace_depth << 16)}
        with m.If(rd_addr >= REGISTERS["TRACE"]):
            m.d.comb += bridge.rd_data.eq(trace_word)
        with m.Else():
            with m.Switch(rd_addr):
                for name, value in readable.items():
                    with m.Case(REGISTERS[name]):
                        m.d.comb += bridge.rd_data.eq(value)

    def _writes(self, m, bridge, core, cfg, lens, steps):
        """Register writes: CTRL starts the program, CFG/LENS/STEPS configure, PROGRAM + i loads word i."""
        addr, data = bridge.wr_addr, bridge.wr_data
        with m.If(bridge.wr_en):
            with m.If(addr == REGISTERS["CTRL"]):
                m.d.comb += core.start.eq(data[0])
            with m.Elif(addr == REGISTERS["CFG"]):
                m.d.sync += cfg.eq(data)
            with m.Elif(addr == REGISTERS["LENS"]):
                m.d.sync += lens.eq(data)
            with m.Elif(addr == REGISTERS["STEPS"]):
                m.d.sync += steps.eq(data)
            with m.Elif((addr >= REGISTERS["PROGRAM"]) & (addr < REGISTERS["PROGRAM"] + self.program_depth)):
                m.d.comb += [core.prog_we.eq(1), core.prog_addr.eq(addr - REGISTERS["PROGRAM"]),
                             core.prog_data.eq(data)]


class BoardTop(Elaboratable):
    """BoardCore on a real board: the platform's default clock and its UART pins."""

    def __init__(self, baud=1_000_000, **options):
        self.baud, self.options = baud, options

    def elaborate(self, platform):
        m = Module()
        divisor = round(platform.default_clk_frequency / self.baud)
        m.submodules.board = board = BoardCore(divisor, **self.options)
        uart = platform.request("uart", 0, dir={"rx": "-", "tx": "-"})
        m.submodules.rx_buffer = rx_buffer = io.Buffer("i", uart.rx)
        m.submodules.tx_buffer = tx_buffer = io.Buffer("o", uart.tx)
        m.d.comb += [board.rx.eq(rx_buffer.i), tx_buffer.o.eq(board.tx)]
        return m
