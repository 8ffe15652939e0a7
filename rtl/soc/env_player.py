"""The environment as hardware: a player that runs a scenario's compiled environment schedule.

In the cocotb softcore bench Python plays the environment (``tb.stimulus.softcore.EnvPlayer``); on
the raw harness and the boards this unit does, cycle for cycle the same: its program is that
player's step list, one 32-bit word per step (opcode in bits 31..28):

=======  =====  ===========================================================================
opcode   name   meaning
=======  =====  ===========================================================================
0        END    the timeline is played
1        UNTIL  wait until condition ``c`` (bits 2..0, ``CONDITIONS``) holds; the next step runs
                in that same cycle
2        WAIT   let ``n`` cycles pass (bits 23..0), then the next step runs in the last of them
3        NMI    an NMI arrives from vector ``v`` (bits 3..0) this cycle
4        EXIT   the TD exits with basic reason ``r`` (bits 6..0) this cycle
=======  =====  ===========================================================================

NMI and EXIT take the cycle they run in; UNTIL and WAIT chain into the next step in the same cycle,
as in Python. The unit looks ``WINDOW`` steps ahead, so a run of at most ``WINDOW - 1`` UNTIL/WAIT
steps before a strobe runs in one cycle as Python runs it; the compiler refuses a longer run
(``tb.stimulus.softcore.compile_environment``). The TD's own register writes (host-state scenarios)
are a table played one per cycle from the first cycle of each guest phase. Every run's recorded
trace is replayed through the Python player, which must have driven the same pins in the same
cycles (``tb.check.softcore_trace``): this unit is checked on every run against its specification.
"""

from amaranth import Array, Cat, Const, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..interfaces import Phase
from . import abi
from .nmi_periph import EnvSignature

OPS = {"END": 0, "UNTIL": 1, "WAIT": 2, "NMI": 3, "EXIT": 4}
# UNTIL's conditions, in the order of their codes (tb.stimulus.softcore.UNTIL_STATES names them).
CONDITIONS = ("guest", "seam_root", "host", "handler", "poll", "polled")
WAIT_MAX = (1 << 24) - 1
WINDOW = 4
PROGRAM_DEPTH = 256
GUEST_WRITES_DEPTH = 32


class EnvironmentPlayer(wiring.Component):
    """Plays the environment schedule against the design's phase and the firmware's HANDLER register.

    Attributes
    ----------
    restart : In(1)
        Back to the first step (the run's start): the program and the guest table are kept.
    phase, latch, irq : In
        The design's phase and latch, the CPU's NMI interrupt line (the settle condition).
    in_handler, poll_state, poll_index, polls : In
        What the firmware's HANDLER register says (``abi``'s fields).
    prog_we, prog_addr, prog_data : In
        The program's write port.
    guest_we, guest_addr, guest_reg, guest_data, guest_count : In
        The TD's register writes: entry ``guest_addr`` writes ``guest_data`` to register ``guest_reg``;
        the first ``guest_count`` entries play in each guest phase.
    env : Out(EnvSignature)
        The environment's pins into the SoC.
    """

    restart: In(1)
    phase: In(Phase)
    latch: In(1)
    irq: In(1)
    in_handler: In(1)
    poll_state: In(2)
    poll_index: In(6)
    polls: In(6)
    prog_we: In(1)
    prog_addr: In(range(PROGRAM_DEPTH))
    prog_data: In(32)
    guest_we: In(1)
    guest_addr: In(range(GUEST_WRITES_DEPTH))
    guest_reg: In(5)
    guest_data: In(64)
    guest_count: In(range(GUEST_WRITES_DEPTH + 1))
    env: Out(EnvSignature())

    def __init__(self, bugs=()):
        self.bugs = frozenset(bugs)  # deliberate defects (rtl.bugs.PLAYER_BUGS)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        # Block RAM with a read port per step of the window, addressed with the next pc: this cycle
        # sees the steps at pc .. pc + WINDOW (the program is written between runs, while restart
        # holds pc at 0 and the ports read it again every cycle).
        m.submodules.program = program = Memory(shape=32, depth=PROGRAM_DEPTH, init=[])
        wr = program.write_port()
        m.d.comb += [wr.en.eq(self.prog_we), wr.addr.eq(self.prog_addr), wr.data.eq(self.prog_data)]
        pc, pc_next = Signal(range(PROGRAM_DEPTH)), Signal(range(PROGRAM_DEPTH))
        m.d.comb += pc_next.eq(pc)
        m.d.sync += pc.eq(pc_next)
        window = []
        for j in range(WINDOW + 1):
            rd = program.read_port()
            m.d.comb += rd.addr.eq((pc_next + j) % PROGRAM_DEPTH)
            window.append(rd.data)
        waiting, wait_left = Signal(), Signal(24)
        arrival_polls, arrived = Signal(6), Signal()  # the firmware's poll count at the last NMI

        def holds(code):
            is_phase = {"guest": self.phase == Phase.GUEST,
                        "seam_root": (self.phase == Phase.SEAMCALL) | (self.phase == Phase.VMENTRY)
                        | (self.phase == Phase.EXIT) | (self.phase == Phase.STEP),
                        "host": self.phase == Phase.HOST}
            since = (self.poll_index - arrival_polls)[:6]
            polled_since = ~arrived | ((since != 0) & (since < 32))
            handler = {"handler": self.in_handler,
                       "poll": self.in_handler & (self.poll_state == abi.POLL_STATES["POLL_AHEAD"]),
                       "polled": self.in_handler & (self.poll_state == abi.POLL_STATES["POLL_DONE"]) & polled_since}
            table = [{**is_phase, **handler}[name] for name in CONDITIONS]
            return Array(table + [Const(0)] * (8 - len(table)))[code]

        at_end = Signal()  # the step after this cycle's is END: the timeline is played
        with m.If(self.restart):
            m.d.comb += pc_next.eq(0)
            m.d.sync += [waiting.eq(0), arrived.eq(0)]
        with m.Else():
            # The chain: step j runs this cycle only if every step before it passed (UNTIL held, WAIT ran out).
            alive = Const(1)
            for j in range(WINDOW):
                word, op = window[j], window[j][28:32]
                here = Signal(name=f"reach{j}")
                m.d.comb += here.eq(alive)
                passed = Signal(name=f"passed{j}")
                left = Signal(24, name=f"left{j}")  # what the WAIT here has still to count
                m.d.comb += left.eq(word[0:24])
                if j == 0:
                    with m.If(waiting):
                        m.d.comb += left.eq(wait_left)
                with m.If(here):
                    with m.Switch(op):
                        with m.Case(OPS["UNTIL"]):
                            m.d.comb += passed.eq(holds(word[0:3]))
                            with m.If(~passed):
                                m.d.comb += pc_next.eq(pc + j)
                        with m.Case(OPS["WAIT"]):
                            with m.If((left <= 1) if "player_wait_one_short" in self.bugs else (left == 0)):
                                m.d.comb += passed.eq(1)
                                m.d.sync += waiting.eq(0)
                            with m.Else():
                                m.d.sync += [waiting.eq(1), wait_left.eq(left - 1)]
                                m.d.comb += pc_next.eq(pc + j)
                        with m.Case(OPS["NMI"]):
                            m.d.comb += [self.env.nmi.eq(1), self.env.nmi_vector.eq(word[0:4])]
                            m.d.sync += [arrival_polls.eq(self.polls), arrived.eq(1)]
                            m.d.comb += pc_next.eq(pc + j + 1)
                            m.d.comb += at_end.eq(window[j + 1][28:32] == OPS["END"])
                        with m.Case(OPS["EXIT"]):
                            m.d.comb += [self.env.exit_req.eq(1), self.env.exit_reason.eq(word[0:7])]
                            m.d.comb += pc_next.eq(pc + j + 1)
                            m.d.comb += at_end.eq(window[j + 1][28:32] == OPS["END"])
                        with m.Default():  # END (or an unknown opcode, which the loader never writes)
                            m.d.comb += pc_next.eq(pc + j)
                            m.d.comb += at_end.eq(1)
                alive = alive & passed
            with m.If(alive):  # a longer chain than the window: the compiler refuses such programs
                m.d.comb += pc_next.eq(pc + WINDOW)
        settled = (self.phase == Phase.HOST) & ~(self.latch | self.irq | self.in_handler)
        m.d.comb += self.env.done.eq(at_end & settled & ~self.restart)
        self._guest_writes(m)
        return m

    def _guest_writes(self, m):
        """The TD's register writes: all of them from each guest phase's first cycle, one per cycle."""
        m.submodules.guest = table = Memory(shape=69, depth=GUEST_WRITES_DEPTH, init=[])
        wr = table.write_port()
        m.d.comb += [wr.en.eq(self.guest_we), wr.addr.eq(self.guest_addr), wr.data.eq(Cat(self.guest_reg, self.guest_data))]
        rd = table.read_port(domain="comb")
        queue = Signal(range(GUEST_WRITES_DEPTH + 1))
        was_guest = Signal()
        in_guest = self.phase == Phase.GUEST
        index = Signal.like(queue)  # the entry this cycle plays
        m.d.comb += index.eq(queue)
        with m.If(in_guest & ~was_guest):
            m.d.comb += index.eq(0)
        m.d.comb += rd.addr.eq(index)
        m.d.sync += was_guest.eq(in_guest & ~self.restart)
        with m.If(self.restart):
            m.d.sync += queue.eq(self.guest_count)  # nothing to play before the first guest phase
        with m.Elif(in_guest & (index < self.guest_count)):
            m.d.comb += [self.env.reg.we.eq(1), self.env.reg.addr.eq(rd.data[0:5]), self.env.reg.data.eq(rd.data[5:69])]
            m.d.sync += queue.eq(index + 1)
