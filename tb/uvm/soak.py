"""``make soak TARGET=sim``: the soak core under cocotb on Verilator, read through its UART.

The clock runs in HDL (``bench_wrapper``), so the simulator runs the storm without waking Python;
a cocotb UART receiver wakes on the line's start bits, samples each bit in its middle, and feeds the
bytes to the same snapshot decoder the virtual board's pty and a real board's serial port feed
(``tb/protocol/soak_frames.py``). A byte whose stop bit is low is a framing error: counted as damage,
never decoded. The snapshots (with the wall time each arrived) go to the settings' ``results``; the flow
(``tb/flows/soak.py``, through ``tb.sim.verilator.run_soak``) judges them as it judges the other targets.

Settings (``tb.sim.settings.RunSettings``): ``soak_pins`` (the configuration inputs), ``soak_config``
(its name, for the progress line), ``soak_seconds``, ``soak_divisor`` (clock cycles per UART bit),
``soak_period_log2``, ``results``.
"""

from __future__ import annotations

import time

import cocotb
from cocotb.triggers import FallingEdge, First, Timer

from tb.protocol.soak_frames import SnapshotDecoder, judgeable, progress_line, run_cap
from tb.sim.settings import RunSettings, publish_result
from tb.sim.verilator import CLOCK_HALF_NS, SIM_TIMEOUT_S

CLOCK_NS = 2 * CLOCK_HALF_NS
PROGRESS_S = 5
SILENCE_PERIODS = 3  # snapshot periods without a start bit before the run is declared dead


async def receive_byte(tx, bit_ns: int) -> int | None:
    """After a start bit's falling edge: the byte, sampled mid-bit, or None on a framing error. The
    samples sit 3 ns before a clock edge, never on one (the line changes on edges)."""
    await Timer(bit_ns + bit_ns // 2 - 3, unit="ns")
    value = 0
    for i in range(8):
        value |= int(tx.value) << i
        await Timer(bit_ns, unit="ns")
    return value if int(tx.value) == 1 else None


@cocotb.test()
async def soak(dut):
    settings = RunSettings.from_env()
    pins, config = settings.soak_pins, settings.soak_config
    seconds, bit_ns = settings.soak_seconds, settings.soak_divisor * CLOCK_NS
    period_cycles = 1 << settings.soak_period_log2
    dut.rst.value = 1
    for name, value in pins.items():
        getattr(dut, name).value = value
    await Timer(10 * CLOCK_NS, unit="ns")
    dut.rst.value = 0
    decoder, snaps, framing = SnapshotDecoder(), [], 0
    start = time.monotonic()
    next_progress = start + PROGRESS_S
    silence = Timer(SILENCE_PERIODS * period_cycles * CLOCK_NS, unit="ns")
    try:
        # SECONDS at least, and on until the firmware has logged its counters twice (a slow machine
        # simulates fewer cycles in SECONDS), within the simulator process's own bound.
        cap = run_cap(seconds, SIM_TIMEOUT_S - 90)
        while not (snaps and time.monotonic() - start >= seconds
                   and (judgeable(snaps) or time.monotonic() - start >= cap)):
            fired = await First(FallingEdge(dut.tx), silence)
            if fired is silence:
                raise AssertionError(f"{config}: no UART start bit in {SILENCE_PERIODS} snapshot periods "
                                     f"({SILENCE_PERIODS * period_cycles:,} cycles): the core stopped sending")
            byte = await receive_byte(dut.tx, bit_ns)
            if byte is None:
                framing += 1
                continue
            now = time.monotonic()
            snaps += [dict(s, wall=now - start) for s in decoder.feed(bytes([byte]))]
            if snaps and now >= next_progress:
                print(progress_line(config, now - start, snaps[-1]), flush=True)
                next_progress += PROGRESS_S
    finally:  # published whole, whatever ended the run (what was read stays readable)
        publish_result(settings, {"snapshots": snaps, "damaged": decoder.damaged + framing})
