"""The bus functional model: the only code of the pyuvm bench that touches the DUT's pins.

Driver and monitor go through it; what a pin means (encoding and decoding) lives in
``tb/protocol/pins.py``, shared with every other bench.
"""

from __future__ import annotations

from cocotb.triggers import FallingEdge

from tb.protocol.pins import (EVENT_PINS, IDLE_PINS, REGS_PIN, STATE_PINS, changes_registers, config_pins, input_pins,
                              read_events, read_regs, read_state)


class NmiBfm:
    """Pin access for NmiTop. Inputs change at the falling edge; outputs are read there too (the
    registered events then describe the rising edge just past)."""

    def __init__(self, dut):
        self.dut = dut
        handles = {name: getattr(dut, name) for name in EVENT_PINS + STATE_PINS + (REGS_PIN,)}
        self.get = lambda name: int(handles[name].value)

    async def next_cycle(self) -> None:
        await FallingEdge(self.dut.clk)

    def _drive(self, pins: dict) -> None:
        for name, value in pins.items():
            getattr(self.dut, name).value = value

    async def reset(self, scenario) -> None:
        """Hold reset for a cycle with the scenario's configuration, release it, wait one idle
        cycle: the next sample is cycle 0."""
        await self.next_cycle()
        self.dut.rst.value = 1
        self._drive({**IDLE_PINS, **config_pins(scenario)})
        await self.next_cycle()
        self.dut.rst.value = 0
        await self.next_cycle()

    async def idle_in_reset(self) -> None:
        self._drive(IDLE_PINS)
        self.dut.rst.value = 1
        await self.next_cycle()

    def drive(self, inputs) -> None:
        self._drive(input_pins(inputs))

    def in_reset(self) -> bool:
        return bool(int(self.dut.rst.value))

    def sample(self, cycle: int):
        """This cycle's state, the previous edge's transactions, and the register file if that
        edge changed it: (state, edge, regs or None)."""
        edge = read_events(cycle - 1, self.get) if cycle else []
        regs = read_regs(self.get) if changes_registers(edge) else None
        return read_state(self.get), edge, regs
