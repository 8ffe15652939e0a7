"""Wishbone B4 classic, as VexRiscv's instruction and data buses speak it (32-bit data, word
addresses, byte selects; the master holds a request until ``ack``)."""

from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


class WishboneSignature(wiring.Signature):
    """A Wishbone bus from the master's side.

    Members
    -------
    cyc, stb, we, adr, dat_w, sel : Out
        The request: a cycle, its strobe, write enable, word address (byte address >> 2), write
        data, byte selects.
    dat_r, ack, err : In
        The response: read data, valid with ``ack`` (one cycle per request), or an error.
    """

    def __init__(self):
        super().__init__({
            "cyc": Out(1), "stb": Out(1), "we": Out(1), "adr": Out(30), "dat_w": Out(32), "sel": Out(4),
            "dat_r": In(32), "ack": In(1), "err": In(1),
        })
