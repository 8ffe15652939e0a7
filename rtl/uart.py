"""8N1 UART receiver and transmitter with a run-time-free, elaboration-time bit period."""

from amaranth import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out


class UartRx(wiring.Component):
    """Receives 8N1 bytes on ``rx``; ``valid`` pulses for one cycle with ``data``.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit.

    Attributes
    ----------
    rx : In
        The serial line (idle high).
    data, valid : Out
        The byte received and its one-cycle strobe (a byte with a bad stop bit is dropped).
    """

    rx: In(1, init=1)
    data: Out(8)
    valid: Out(1)

    def __init__(self, divisor):
        assert divisor >= 4
        self.divisor = divisor
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        line = Signal(init=1)  # the line idles high; two flip-flops against metastability
        m.submodules.rx_sync = FFSynchronizer(self.rx, line, init=1, stages=2)
        timer = Signal(range(self.divisor * 2))
        bits = Signal(4)
        shift = Signal(8)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~line):
                    m.d.sync += timer.eq(self.divisor // 2)
                    m.next = "START"
            with m.State("START"):
                with m.If(timer == 0):
                    with m.If(line):
                        m.next = "IDLE"  # a glitch, not a start bit
                    with m.Else():
                        m.d.sync += [timer.eq(self.divisor - 1), bits.eq(0)]
                        m.next = "DATA"
                with m.Else():
                    m.d.sync += timer.eq(timer - 1)
            with m.State("DATA"):
                with m.If(timer == 0):
                    m.d.sync += [shift.eq((line << 7) | (shift >> 1)), timer.eq(self.divisor - 1), bits.eq(bits + 1)]
                    with m.If(bits == 7):
                        m.next = "STOP"
                with m.Else():
                    m.d.sync += timer.eq(timer - 1)
            with m.State("STOP"):
                with m.If(timer == 0):
                    with m.If(line):
                        m.d.comb += [self.valid.eq(1), self.data.eq(shift)]
                    m.next = "IDLE"
                with m.Else():
                    m.d.sync += timer.eq(timer - 1)
        return m


class UartTx(wiring.Component):
    """Sends ``data`` when ``valid`` and ``ready``; 8N1 on ``tx``.

    Attributes
    ----------
    data, valid : In
        The byte to send and its request.
    ready : Out
        The transmitter takes a byte this cycle.
    tx : Out
        The serial line.
    """

    data: In(8)
    valid: In(1)
    ready: Out(1)
    tx: Out(1, init=1)

    def __init__(self, divisor):
        self.divisor = divisor
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        timer = Signal(range(self.divisor))
        shift = Signal(10)
        left = Signal(4)
        m.d.comb += self.ready.eq((left == 0) & (timer == 0))  # the stop bit has had its full period
        with m.If(left == 0):
            with m.If(timer != 0):
                m.d.sync += timer.eq(timer - 1)
            with m.Elif(self.valid):
                m.d.sync += [shift.eq((1 << 9) | (self.data << 1)), left.eq(10), timer.eq(0)]
        with m.Else():
            with m.If(timer == 0):
                m.d.sync += [self.tx.eq(shift[0]), shift.eq(shift >> 1), left.eq(left - 1),
                             timer.eq(self.divisor - 1)]
            with m.Else():
                m.d.sync += timer.eq(timer - 1)
        return m
