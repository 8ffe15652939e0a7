"""Run compiled programs on ProgramTop in Amaranth's simulator (unit-level check of program mode)."""

from __future__ import annotations

from amaranth.hdl import Value
from amaranth.sim import Simulator

from rtl.interfaces import resolve
from rtl.program_top import ProgramTop
from tb.check.program_check import check_result
from tb.protocol.program import Compiled, decode_trace
from tb.protocol.program_session import HOST_REGISTERS, RunStatus, run_on_async_port


class AmaranthProgramPort:
    """The program-mode port on ProgramTop in amaranth.sim (``tb/protocol/program_session.py``)."""

    def __init__(self, ctx, dut: ProgramTop):
        self.ctx, self.dut = ctx, dut

    def configure(self, pins: dict) -> None:
        for name, value in pins.items():
            self.ctx.set(resolve(self.dut, name), value)

    async def load(self, words: list[int], data: list[int]) -> None:
        dut = self.dut
        await self._fill((dut.prog_we, dut.prog_addr, dut.prog_data), words)
        await self._fill((dut.data_we, dut.data_addr, dut.data_data), data)

    async def _fill(self, port, values: list[int]) -> None:
        """Write ``values`` into a memory through its (enable, address, data) pins, one per cycle."""
        we, addr, data = port
        for index, value in enumerate(values):
            self.ctx.set(we, 1)
            self.ctx.set(addr, index)
            self.ctx.set(data, value)
            await self.ctx.tick()
        self.ctx.set(we, 0)

    async def run(self, bound: int) -> RunStatus:
        ctx, dut = self.ctx, self.dut
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        for _ in range(bound):
            if ctx.get(dut.done) or ctx.get(dut.error):
                break
            await ctx.tick()
        return RunStatus(bool(ctx.get(dut.done)), bool(ctx.get(dut.error)), bool(ctx.get(dut.trace_overflow)),
                         ctx.get(dut.trace_count), ctx.get(dut.cycle))

    async def read_trace(self, count: int) -> list[int]:
        entries = []
        for addr in range(count):
            self.ctx.set(self.dut.trace_addr, addr)
            await self.ctx.tick()  # the trace buffer reads synchronously
            entries.append(self.ctx.get(Value.cast(self.dut.trace_data)))
        return entries

    def read_regs(self) -> list[int]:
        regs = []
        for index in range(HOST_REGISTERS):
            self.ctx.set(self.dut.regs_addr, index)
            regs.append(self.ctx.get(self.dut.regs_data))
        return regs


def run_programs(compiled: list[Compiled], bugs=(), traces: list | None = None, raw: list | None = None,
                 **top_options) -> list[str | None]:
    """Run each program; return the first problem of each (None: its trace equals the model's).

    ``traces``, if given, receives each run's decoded trace, ``raw`` its trace entries;
    ``top_options`` go to ProgramTop.
    """
    dut = ProgramTop(bugs, **top_options)
    results = []

    async def bench(ctx):
        port = AmaranthProgramPort(ctx, dut)
        for c in compiled:
            result = await run_on_async_port(port, c)
            results.append(check_result(c, result, host_state=True))
            if traces is not None:
                traces.append(decode_trace(result.entries, host_state=True))
            if raw is not None:
                raw.append(result.entries)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return results
