"""Run a scenario on the RTL in Amaranth's own simulator (no Verilator): fast unit-level co-simulation."""

from __future__ import annotations

from amaranth.hdl import Value
from amaranth.sim import Simulator

from py_model import Scenario
from rtl.interfaces import resolve
from rtl.top import NmiTop
from tb.benches.lockstep import Lockstep
from tb.check.checker import RunResult


def run_on_amaranth(scenario: Scenario, bugs=(), label: str = "") -> RunResult:
    """Co-simulate ``scenario`` on the RTL (with ``bugs``); return the checked result."""
    dut = NmiTop(bugs)
    lock = Lockstep(scenario, label)
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    async def bench(ctx):
        def get(name):
            return ctx.get(Value.cast(resolve(dut, name)))
        for name, value in lock.config_pins().items():
            ctx.set(resolve(dut, name), value)
        pins = lock.step(get)  # None once the run is over (finished, failed or past the cycle bound)
        while pins is not None:
            for name, value in pins.items():
                ctx.set(resolve(dut, name), value)
            await ctx.tick()
            pins = lock.step(get)

    sim.add_testbench(bench)
    sim.run()
    return lock.finish()
