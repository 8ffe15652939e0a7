"""The NMI storm: the environment of a soak, in hardware (``make soak``).

A 32-bit Galois LFSR (x^32 + x^22 + x^2 + x + 1) draws, every cycle, whether an NMI arrives and
whether the running TD asks for a (non-NMI) exit, each with a tunable probability. NMIs come from
several sources in turn, so two consecutive NMIs never share a source (the "distinct local sources"
of SPEC §6's clean rows); the TD's own exits keep it entering and leaving when NMIs are rare.
"""

from amaranth import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .nmi_periph import EnvSignature

LFSR_TAPS = 0x8020_0003
TD_EXIT_REASON = 77  # the TD's own exits: TDVMCALL (py_model.transactions.EXIT_REASONS)


class StormGenerator(wiring.Component):
    """NMI arrivals and TD exits drawn from an LFSR.

    Parameters
    ----------
    vectors : sequence of int
        The NMI sources (vectors 1..15, not 2: that is the external reason), used in turn.
    seed : int
        The LFSR's nonzero start value.

    Attributes
    ----------
    env : Out(EnvSignature)
        What the SoC's environment does; ``done`` stays low (a soak never ends by itself).
    nmi_rate, exit_rate : In(16)
        An NMI (a TD exit request) arrives in a cycle with probability ``rate / 65536``.
    """

    env: Out(EnvSignature())
    nmi_rate: In(16)
    exit_rate: In(16)

    def __init__(self, vectors=(3, 4, 5, 6), seed=0x1234_5678):
        if not vectors or any(not 1 <= v <= 15 or v == 2 for v in vectors) or not seed:
            raise ValueError(f"storm vectors {vectors} (1..15, not 2) and a nonzero seed")
        self.vectors, self.seed = tuple(vectors), seed
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        lfsr = Signal(32, init=self.seed)
        m.d.sync += lfsr.eq((lfsr >> 1) ^ Mux(lfsr[0], LFSR_TAPS, 0))
        turn = Signal(range(len(self.vectors)))
        nmi = lfsr[:16] < self.nmi_rate
        with m.If(nmi):  # the next source in turn
            m.d.sync += turn.eq(Mux(turn == len(self.vectors) - 1, 0, turn + 1))
        with m.Switch(turn):
            for i, vector in enumerate(self.vectors):
                with m.Case(i):
                    m.d.comb += self.env.nmi_vector.eq(vector)
        m.d.comb += [self.env.nmi.eq(nmi), self.env.exit_req.eq(lfsr[16:] < self.exit_rate),
                     self.env.exit_reason.eq(TD_EXIT_REASON)]
        return m
