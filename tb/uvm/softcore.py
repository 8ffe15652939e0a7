"""Softcore mode under cocotb on Verilator: the firmware on VexRiscv against the design.

The thin simulator adapter: it loads the firmware, configures, then each cycle drives the
environment (NMI arrivals from ``tb.stimulus.softcore.EnvPlayer``), reads the stimulus the CPU and
environment put on the design's pins, its events, state and the firmware's LOG stores, and hands
them to the checkers (``tb/check``): the reference hardware fed the same inputs cycle for cycle,
the invariants, then the firmware's passes and counters against the scenario's ``expect``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly

from py_model.atomic import write_atomically
from py_model.config import run_cycle_bound
from tb.check.checker import HardwareChecker
from tb.check.softcore_check import check_firmware, firmware_outcome, model_expectation
from tb.protocol.pins import config_pins, read_inputs
from tb.sim.firmware import firmware_words
from tb.stimulus.catalog import planned
from tb.stimulus.softcore import EnvPlayer, NotApplicable, softcore_case


async def _reset_and_load(dut, words: list[int], case) -> None:
    dut.hold.value, dut.rst.value = 1, 1
    for name, value in config_pins(case.scenario).items():
        getattr(dut, name).value = value
    dut.sw_cfg.value = case.sw_cfg
    for name, value in EnvPlayer.IDLE.items():
        getattr(dut, name).value = value
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    for addr, word in enumerate(words):
        dut.load_we.value, dut.load_addr.value, dut.load_data.value = 1, addr, word
        await FallingEdge(dut.clk)
    dut.load_we.value, dut.hold.value = 0, 0


def retired(dut) -> int:
    """The CPU's retired-instruction counter (VexRiscv's minstret, made readable by
    tb/sim/public_ports.vlt; it counts from power-on, the CPU's reset does not clear it)."""
    return int(dut.cpu.cpu.CsrPlugin_minstret.value)


async def run_case(dut, words: list[int], case) -> dict:
    scenario = case.scenario
    await _reset_and_load(dut, words, case)
    checker = HardwareChecker(scenario.config, scenario.name, registers=False)  # no host-state unit
    env, log, events, bound = EnvPlayer(case), [], [], run_cycle_bound()
    get = lambda name: int(getattr(dut, "mon__" + name).value)  # the SoC's monitor port (MonitorSignature)
    cycle, done = 0, False
    retired_at_start = retired(dut)
    while cycle <= bound:
        # During cycle t (after the falling edge): the registered events of edge t-1, the state of t.
        state, edge = checker.observed_pins(cycle, get)
        events += [str(txn) for txn in edge]
        if get("done"):
            done = True
            break
        in_handler = bool(get("in_handler"))
        pins = env.cycle(state.phase, in_handler)
        pins["env__done"] = int(env.finished(state.phase, state.latch, bool(get("irq")), in_handler))
        for name, value in pins.items():
            getattr(dut, name).value = value
        await ReadOnly()  # the inputs of cycle t as the CPU and the environment drive them, settled
        checker.driven(cycle, read_inputs(get))
        if get("log_valid"):
            log.append(get("log_data"))
            events.append(f"@{cycle} log 0x{log[-1]:08x}")
        await FallingEdge(dut.clk)
        cycle += 1
    problem = checker.problem(cycle)
    outcome = {"passes": [], "counts": None}
    if problem is None and not done:
        problem = f"{scenario.name}: the firmware did not finish within {bound:,} cycles"
    if problem is None:
        try:
            outcome = firmware_outcome(log)
        except ValueError as err:
            problem = f"{scenario.name}: {err}"
    # The software half, unless an NMI was placed by time into the host's run (env.timed): then where
    # it lands is the firmware's timing, not the model's, and the row says so.
    if problem is None and not env.timed:
        miss = check_firmware(model_expectation(scenario), outcome)
        problem = f"{scenario.name}: the firmware differs from the model's software: {miss}" if miss else None
    if problem is None and not env.timed:
        miss = check_firmware(scenario.expect, outcome)
        problem = f"{scenario.name}: {miss}" if miss else None
    return {"scenario": scenario.name, "config": scenario.config.to_json(), "ok": problem is None, "failure": problem,
            "cycles": cycle, "instructions": retired(dut) - retired_at_start,
            "transactions": checker.scoreboard.compared["txn"], "firmware": outcome,
            "done_value": get("done_value"), "events": events, "timed": env.timed}


@cocotb.test()
async def softcore(dut):
    test, seed = os.environ["TB_TEST"], int(os.environ.get("TB_SEED", "1"))
    files = os.environ.get("TB_SCENARIO", "")
    scenarios, _ = planned(test, seed, files.split(os.pathsep) if files else ())
    words = firmware_words(Path(os.environ["TB_FIRMWARE"]))
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    rows, skipped, start = [], [], time.perf_counter()
    for scenario in scenarios:
        try:
            case = softcore_case(scenario)
        except NotApplicable as why:
            skipped.append({"scenario": scenario.name, "reason": str(why)})
            continue
        rows.append(await run_case(dut, words, case))
    report = {"test": test, "seed": seed, "mode": "softcore", "runs": rows, "expected_runs": len(rows),
              "not_applicable": skipped, "seconds": time.perf_counter() - start,
              "cycles": sum(r["cycles"] for r in rows), "instructions": sum(r["instructions"] for r in rows)}
    path = os.environ.get("TB_RESULTS")
    if path:
        write_atomically(path, json.dumps(report))
    failures = [r["failure"] for r in rows if not r["ok"]]
    assert rows, f"no scenario of {test} applies in softcore mode: {skipped[:1]}"
    assert not failures, f"{len(failures)} run(s) failed; first: {failures[0]}"
