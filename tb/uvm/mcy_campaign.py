"""cocotb entry for ``make mcy``: the mutated netlist (every mutant behind ``mutsel``) against the model.

For each mutant id in the settings' ``mutants``, the scenarios of the kill tests run in order through the same
simulator-independent lockstep checker as the amaranth.sim bench (``tb/benches/lockstep.py``: reference
cycle for cycle, invariants, model-alone outcome, expect, verdict) until one fails; the first
failing test kills the mutant. Results go to the settings' ``results`` as JSON.
"""

from __future__ import annotations

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

from tb.benches.lockstep import Lockstep
from tb.protocol.pins import IDLE_PINS
from tb.sim.settings import RunSettings, publish_result
from tb.stimulus.catalog import TESTS


def _getter(dut):
    return lambda name: int(getattr(dut, name).value)


async def _run(dut, scenario, verdict) -> str | None:
    """One scenario on the current mutant; the first problem, or None."""
    lock = Lockstep(scenario, verdict=verdict)
    dut.rst.value = 1
    for name, value in lock.config_pins().items():
        getattr(dut, name).value = value
    for name, value in IDLE_PINS.items():
        getattr(dut, name).value = value
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    get = _getter(dut)
    pins = lock.step(get)  # None once the run is over (finished, failed or past the cycle bound)
    while pins is not None:
        for name, value in pins.items():
            getattr(dut, name).value = value
        await FallingEdge(dut.clk)
        pins = lock.step(get)
    result = lock.finish()
    return None if result.ok else result.failure


@cocotb.test()
async def mcy_campaign(dut):
    settings = RunSettings.from_env()
    mutants, tests, seeds = settings.mutants, settings.kill_tests, settings.all_seeds
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    campaign = []  # (test name, scenario, verdict), built once
    for name in tests:
        test = TESTS[name]
        for seed in (seeds if test.seeded else [1]):
            campaign += [(f"{name}:{seed}", s, test.verdict) for s in test.scenarios(seed)]
    results = {}
    for mutant in mutants:
        dut.mutsel.value = mutant
        killed = None
        for label, scenario, verdict in campaign:
            problem = await _run(dut, scenario, verdict)
            if problem:
                killed = {"test": label, "failure": problem.splitlines()[0][:300]}
                break
        results[mutant] = killed
        publish_result(settings, results)  # after every mutant: an interrupted campaign keeps them
