"""Block RAM for the firmware's code and data: an instruction port and a data port (Wishbone), and
a load port the testbench writes the firmware through while the CPU is held in reset."""

from amaranth import Module, Mux
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In

from .wishbone import WishboneSignature


class Ram(wiring.Component):
    """``depth`` 32-bit words at byte address 0; ``init``: the words it holds at power-on (a board's
    firmware, built into the bitstream), else zeros.

    Attributes
    ----------
    ibus, dbus : In(WishboneSignature)
        Fetches (read only) and loads/stores (byte selects); each answered one cycle later.
    load_we, load_addr, load_data : In
        The firmware loader's word write port (used while the CPU is held in reset).
    """

    def __init__(self, depth: int, init=()):
        if len(init) > depth:
            raise ValueError(f"{len(init)} words of RAM contents for a RAM of {depth} words")
        self.depth, self.init = depth, list(init)
        super().__init__({
            "ibus": In(WishboneSignature()), "dbus": In(WishboneSignature()),
            "load_we": In(1), "load_addr": In(range(depth)), "load_data": In(32),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.mem = mem = Memory(shape=32, depth=self.depth, init=self.init)
        words = range(self.depth).stop.bit_length() - 1
        for bus in (self.ibus, self.dbus):  # one request at a time, acknowledged the cycle after
            m.d.sync += bus.ack.eq(bus.cyc & bus.stb & ~bus.ack)
        ird = mem.read_port()
        m.d.comb += [ird.addr.eq(self.ibus.adr[:words]), self.ibus.dat_r.eq(ird.data)]
        drd = mem.read_port()
        m.d.comb += [drd.addr.eq(self.dbus.adr[:words]), self.dbus.dat_r.eq(drd.data)]
        wr = mem.write_port(granularity=8)
        store = self.dbus.cyc & self.dbus.stb & self.dbus.we & ~self.dbus.ack
        m.d.comb += [
            wr.addr.eq(Mux(self.load_we, self.load_addr, self.dbus.adr[:words])),
            wr.data.eq(Mux(self.load_we, self.load_data, self.dbus.dat_w)),
            wr.en.eq(Mux(self.load_we, 0b1111, Mux(store, self.dbus.sel, 0))),
        ]
        return m
