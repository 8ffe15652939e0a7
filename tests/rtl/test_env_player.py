"""The hardware environment player against its specification, the Python player the cocotb bench
uses: the same pins in every cycle, on every library case (and random programs) over random phase
and HANDLER histories."""

import random

import pytest
from amaranth.sim import Simulator

from py_model import Config, Scenario
from py_model.hardware import EXIT, GUEST, HOST, SEAMCALL, STEP, VMENTRY
from rtl.soc.env_player import EnvironmentPlayer
from tb.stimulus.catalog import planned
from tb.stimulus.softcore import (
    UNTIL_STATES,
    EnvPlayer,
    Handler,
    NotApplicable,
    SoftcoreCase,
    compile_environment,
    softcore_case,
)

PINS = ("nmi", "nmi_vector", "exit_req", "exit_reason", "done", "reg__we", "reg__addr", "reg__data")


def _library_cases():
    cases = []
    for scenario in planned("library", 1, ())[0]:
        try:
            case = softcore_case(scenario)
            compile_environment(case)
            cases.append(case)
        except NotApplicable:
            pass
    return cases


def _random_case(rng, scenario) -> SoftcoreCase:
    """Steps drawn at random, within what the compiler accepts (at most WINDOW - 1 control steps in a row)."""
    steps, chain = [], 0
    for _ in range(rng.randrange(1, 20)):
        kind = rng.choice(["until", "until", "wait", "nmi", "nmi", "exit"]) if chain < 3 else rng.choice(["nmi", "exit"])
        arg = {"until": lambda: rng.choice(UNTIL_STATES), "wait": lambda: rng.choice([0, 1, 2, 5, 30]),
               "nmi": lambda: rng.randrange(16), "exit": lambda: rng.randrange(1, 64)}[kind]()
        steps.append((kind, arg))
        chain = 0 if kind in ("nmi", "exit") else 1 if kind == "wait" and arg > 0 else chain + 1
    writes = [(rng.randrange(21), rng.getrandbits(64)) for _ in range(rng.randrange(4))]
    return SoftcoreCase(scenario, 0, 1, steps, (), writes)


def _script(rng, length=500):
    script, phase, handler, latch, irq = [], HOST, Handler(), False, False
    while len(script) < length:
        if rng.random() < 0.3:
            phase = rng.choice([HOST, SEAMCALL, VMENTRY, GUEST, EXIT, STEP])
        if rng.random() < 0.2:
            handler = Handler(rng.random() < 0.6, rng.randrange(4), rng.randrange(64), rng.randrange(64))
        if rng.random() < 0.2:
            latch, irq = rng.random() < 0.3, rng.random() < 0.3
        script += [(phase, handler, latch, irq)] * rng.randrange(1, 12)
    return script


def _python_pins(case, script):
    env, out = EnvPlayer(case), []
    for phase, handler, latch, irq in script:
        pins = env.cycle(phase, handler)
        pins["env__done"] = int(env.finished(phase, latch, irq, handler.running))
        out.append({name: pins[f"env__{name}"] for name in PINS})
    return out


def _hardware_pins(case, script):
    program, guest = compile_environment(case)
    dut = EnvironmentPlayer()
    out = []

    async def bench(ctx):
        for i, word in enumerate(program):
            ctx.set(dut.prog_we, 1), ctx.set(dut.prog_addr, i), ctx.set(dut.prog_data, word)
            await ctx.tick()
        ctx.set(dut.prog_we, 0)
        for i, (reg, value) in enumerate(guest):
            ctx.set(dut.guest_we, 1), ctx.set(dut.guest_addr, i), ctx.set(dut.guest_reg, reg)
            ctx.set(dut.guest_data, value)
            await ctx.tick()
        ctx.set(dut.guest_we, 0)
        ctx.set(dut.guest_count, len(guest))
        ctx.set(dut.restart, 1)
        await ctx.tick()
        ctx.set(dut.restart, 0)
        for phase, handler, latch, irq in script:
            ctx.set(dut.phase, phase), ctx.set(dut.latch, latch), ctx.set(dut.irq, irq)
            ctx.set(dut.in_handler, handler.running), ctx.set(dut.poll_state, handler.poll_state)
            ctx.set(dut.poll_index, handler.poll_index), ctx.set(dut.polls, handler.polls)
            pins = {}
            for name in PINS:
                signal = dut.env
                for part in name.split("__"):
                    signal = getattr(signal, part)
                pins[name] = ctx.get(signal)
            out.append(pins)
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return out


def _compare(case, script):
    want, got = _python_pins(case, script), _hardware_pins(case, script)
    for t, (a, b) in enumerate(zip(want, got, strict=True)):
        assert a == b, f"{case.scenario.name} {case.steps}: cycle {t}: python {a}, hardware {b}"


def test_the_hardware_player_plays_every_library_case_as_python_does():
    rng = random.Random(3)
    cases = _library_cases()
    assert len(cases) > 10
    for case in cases:
        _compare(case, _script(rng))


@pytest.mark.parametrize("seed", range(40))
def test_the_hardware_player_plays_random_programs_as_python_does(seed):
    rng = random.Random(seed)
    _compare(_random_case(rng, Scenario(f"random{seed}", Config(), [])), _script(rng))


def test_the_compiler_refuses_what_the_player_cannot_run_in_one_cycle():
    case = SoftcoreCase(Scenario("chain", Config(), []), 0, 1, [("until", "guest")] * 4 + [("nmi", 2)])
    with pytest.raises(NotApplicable, match="in one cycle"):
        compile_environment(case)
