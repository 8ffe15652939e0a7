"""The bus functional model: the only code of the pyuvm bench that touches the DUT's pins.

Driver and monitor go through it; what a pin means (encoding and decoding) lives in
``tb/protocol/pins.py``, shared with every other bench.
"""

from __future__ import annotations

from cocotb.triggers import FallingEdge, First, RisingEdge, Timer
from cocotb.utils import get_sim_time

from tb.protocol.pins import (
    CYCLE_PIN,
    EVENT_PINS,
    IDLE_PINS,
    REGS_PIN,
    RUN_INDEX,
    RUN_INDEX_WIDTH,
    STATE_PINS,
    WAKE_PIN,
    changes_registers,
    config_pins,
    input_pins,
    read_cycle,
    read_events,
    read_regs,
    read_state,
)

CLOCK_NS = 10


def mark_run(dut, run: int) -> None:
    """Show the run's number on the bench wrapper's ``tb_run`` input (tb/sim/verilator.py), if any."""
    handle = getattr(dut, RUN_INDEX, None)
    if handle is not None:
        handle.value = run & ((1 << RUN_INDEX_WIDTH) - 1)


class NmiBfm:
    """Pin access for NmiTop. Inputs change at the falling edge; outputs are read there too (the
    registered events then describe the rising edge just past)."""

    def __init__(self, dut):
        self.dut = dut
        self.handles = {name: getattr(dut, name) for name in EVENT_PINS + STATE_PINS + (REGS_PIN, WAKE_PIN, CYCLE_PIN)}
        self.inputs = {name: getattr(dut, name) for name in IDLE_PINS}
        self.written: dict[str, int] = {}
        self._read_at, self._values = None, {}

    # Measured (cProfile over make bench's interactive run): per cycle, pin reads took 26% of the
    # time and pin writes 19%. Driver and monitor both sample each cycle, and most cycles drive
    # the same inputs as the one before: each pin now crosses VPI at most once per time step, and
    # an input is written only when its value changes.
    def get(self, name: str) -> int:
        """A pin's value in this time step."""
        now = get_sim_time()
        if now != self._read_at:
            self._read_at, self._values = now, {}
        value = self._values.get(name)
        if value is None:
            value = self._values[name] = int(self.handles[name].value)
        return value

    async def next_cycle(self) -> None:
        await FallingEdge(self.dut.clk)

    def _drive(self, pins: dict) -> None:
        for name, value in pins.items():
            if self.written.get(name) != value:
                handle = self.inputs[name] if name in self.inputs else getattr(self.dut, name)
                handle.value = value
                self.written[name] = value

    async def reset(self, scenario, run: int = 1) -> int:
        """Hold reset for a cycle with the scenario's configuration, release it, wait one idle
        cycle: the next sample is cycle 0. Marks the run's number on the wrapper's ``tb_run`` (where
        the top has one: ``make mcy`` simulates the design bare). Returns the simulation time (ns) of
        the edge that ends cycle 0, so cycle ``c``'s edge is ``c * CLOCK_NS`` later."""
        await self.next_cycle()
        self.dut.rst.value = 1
        self._drive({**IDLE_PINS, **config_pins(scenario)})
        mark_run(self.dut, run)
        await self.next_cycle()
        self.dut.rst.value = 0
        await self.next_cycle()
        return int(get_sim_time("ns")) + CLOCK_NS // 2  # sampled at the falling edge

    async def idle_in_reset(self) -> None:
        self._drive(IDLE_PINS)
        self.dut.rst.value = 1
        await self.next_cycle()

    def drive(self, inputs) -> None:
        self._drive(input_pins(inputs))

    def in_reset(self) -> bool:
        return bool(int(self.dut.rst.value))

    def cycle(self) -> int:
        """The cycle number during this cycle, from the design's own edge counter."""
        return read_cycle(self.get)

    def woke(self) -> bool:
        """The last edge had an event or moved the phase (``trace.wake``)."""
        return bool(self.get(WAKE_PIN))

    async def next_wake(self, cycles: int | None = None) -> int:
        """Sleep until the falling edge after an edge that raises ``trace.wake``, or until ``cycles``
        falling edges have passed; the inputs stay as driven. Returns the cycle woken in.

        ``wake`` is a registered output that rises just after a rising clock edge; a rising-edge
        trigger on it only fires if it was low, so the first cycle is always stepped. In reset (a
        run ended) it returns at that first falling edge."""
        await FallingEdge(self.dut.clk)
        if (cycles is None or cycles > 1) and not self.woke() and not self.in_reset():
            left = [Timer(CLOCK_NS * (cycles - 1) - 2, unit="ns")] if cycles else []
            await First(RisingEdge(self.handles[WAKE_PIN]), RisingEdge(self.dut.rst), *left)
            await FallingEdge(self.dut.clk)
        return self.cycle()

    async def released(self) -> None:
        """Until the falling edge of cycle 0: reset released and the reset sequence's idle edge run."""
        if not self.in_reset():
            await RisingEdge(self.dut.rst)
        await FallingEdge(self.dut.rst)
        await FallingEdge(self.dut.clk)

    def sample(self, cycle: int):
        """This cycle's state, the previous edge's transactions, and the register file if that
        edge changed it or reset left it (cycle 0): (state, edge, regs or None)."""
        edge = read_events(cycle - 1, self.get) if cycle else []
        regs = read_regs(self.get) if cycle == 0 or changes_registers(edge) else None
        return read_state(self.get), edge, regs
