"""Run compiled programs on ProgramTop in Amaranth's simulator (unit-level check of program mode)."""

from __future__ import annotations

from amaranth.hdl import Value
from amaranth.sim import Simulator

from rtl.program_top import ProgramTop

from .pins import config_pins
from .program import Compiled, check_run, decode_trace


def run_programs(compiled: list[Compiled], bugs=(), traces: list | None = None, raw: list | None = None,
                 **top_options) -> list[str | None]:
    """Run each program; return the first problem of each (None: its trace equals the model's).

    ``traces``, if given, receives each run's decoded trace, ``raw`` its trace entries;
    ``top_options`` go to ProgramTop.
    """
    dut = ProgramTop(bugs, **top_options)
    results = []

    async def bench(ctx):
        for c in compiled:
            for name, value in config_pins(c.scenario).items():
                if hasattr(dut, name):
                    ctx.set(getattr(dut, name), value)
            for addr, word in enumerate(c.words):
                ctx.set(dut.prog_we, 1)
                ctx.set(dut.prog_addr, addr)
                ctx.set(dut.prog_data, word)
                await ctx.tick()
            ctx.set(dut.prog_we, 0)
            for addr, value in enumerate(c.data or []):
                ctx.set(dut.data_we, 1)
                ctx.set(dut.data_addr, addr)
                ctx.set(dut.data_data, value)
                await ctx.tick()
            ctx.set(dut.data_we, 0)
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            for _ in range(c.cycles + 70_000):
                if ctx.get(dut.done) or ctx.get(dut.error):
                    break
                await ctx.tick()
            count = ctx.get(dut.trace_count)
            entries = []
            for addr in range(count):
                ctx.set(dut.trace_addr, addr)
                await ctx.tick()  # the trace buffer reads synchronously
                entries.append(ctx.get(Value.cast(dut.trace_data)))
            regs = []
            for index in range(21):
                ctx.set(dut.regs_addr, index)
                regs.append(ctx.get(dut.regs_data))
            results.append(check_run(c, entries, bool(ctx.get(dut.done)), bool(ctx.get(dut.error)),
                                     bool(ctx.get(dut.trace_overflow)), regs, host_state=True))
            if traces is not None:
                traces.append(decode_trace(entries, host_state=True))
            if raw is not None:
                raw.append(entries)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return results
