"""Program mode: the host engine, the trace buffer, the compiler, and the C++ harness."""

import pytest
from defect_cases import INVARIANT_CASES

from conftest import SCENARIO_DIR
from py_model import load_scenario
from rtl.program_top import EVENTS, OP_AWAIT, OP_END
from tb.benches.amaranth_bench import run_on_amaranth
from tb.benches.program_amaranth import run_programs
from tb.protocol.program import Compiled, ProgramError, compile_scenario
from tb.sim.verilator import run_test
from tb.stimulus.catalog import TESTS, random_scenarios

FILES = sorted(SCENARIO_DIR.glob("*.yaml"))


def test_library_and_random_campaign_give_the_interactive_trace():
    """Every library scenario (host-state ones included) and a random campaign."""
    from tb.stimulus.catalog import random_host_state

    scenarios = [load_scenario(p) for p in FILES] + [s for seed in (1, 2, 3) for s in random_scenarios(seed)]
    scenarios += random_host_state(1)
    traces = []
    problems = run_programs([compile_scenario(s) for s in scenarios], traces=traces)
    assert problems == [None] * len(scenarios), [p for p in problems if p][:3]
    for scenario, program_trace in zip(scenarios, traces, strict=True):
        interactive = run_on_amaranth(scenario)
        assert interactive.ok and interactive.outcome.trace == program_trace, scenario.name


def test_program_mode_catches_an_rtl_bug():
    compiled = [compile_scenario(s) for s in TESTS["nmi_seamret"].scenarios(1)]
    problems = run_programs(compiled, bugs=["seamret_always_restore"])
    failing = [p for p in problems if p]
    assert failing and "seamret  blocked=1 | rtl" in failing[0]


def test_trace_overflow_is_reported_not_checked():
    compiled = compile_scenario(load_scenario(SCENARIO_DIR / "spec6_legacy_noinstr_idt.yaml"))
    problem, = run_programs([compiled], trace_depth=4)
    assert "overflowed" in problem


def test_await_that_never_fires_is_an_error():
    scenario = load_scenario(SCENARIO_DIR / "a1_host_nmi_no_td.yaml")
    stuck = Compiled(scenario, [OP_AWAIT << 28 | EVENTS.index("seamret"), OP_END << 28], [], None, 10)
    problem, = run_programs([stuck])
    assert "AWAIT timed out" in problem


def test_host_state_scenarios_are_refused_where_there_is_no_host_state_unit():
    with pytest.raises(ProgramError, match="this target has no host-state unit"):
        compile_scenario(load_scenario(SCENARIO_DIR / "hs_merged.yaml"), host_state=False)


def test_program_mode_checks_the_register_file_at_the_end():
    """Program mode compares the register file once, at the end (interactive mode after every
    change): the first posting does not restore DEBUGCTL, so the module's defect shows there."""
    compiled = compile_scenario(load_scenario(SCENARIO_DIR / "hs_first_posting.yaml"))
    problem, = run_programs([compiled], bugs=["debugctl_keep_guest"])
    assert problem and "register file at the end: DEBUGCTL" in problem


def test_verilator_program_mode_gives_the_interactive_table():
    interactive = run_test("nmi_seamret", 1, quiet=True)
    program = run_test("nmi_seamret", 1, quiet=True, mode="program")
    assert program["error"] is None and all(r["ok"] for r in program["runs"])
    assert [r["verdict"] for r in program["runs"]] == [r["verdict"] for r in interactive["runs"]]
    # program mode's default, the raw harness without cocotb: the same rows
    from tb.benches import cpp_harness

    harness = cpp_harness.run_test("nmi_seamret", 1)
    keys = ("scenario", "ok", "failure", "verdict", "outcome", "cycles", "transactions")
    assert [{k: r[k] for k in keys} for r in harness["runs"]] == [{k: r[k] for k in keys} for r in program["runs"]]


def test_cpp_harness_campaign_and_a_bug():
    from tb.benches import cpp_harness
    from tb.stimulus.catalog import random_host_state

    compiled = [compile_scenario(s) for seed in range(1, 11) for s in random_scenarios(seed) + random_host_state(seed)]
    problems, cycles, _ = cpp_harness.run(compiled)
    assert problems == [None] * len(compiled) and cycles > 0
    race = [compile_scenario(s) for s in TESTS["nmi_seamret"].scenarios(1)]
    problems, _, _ = cpp_harness.run(race, bugs=["seamret_always_restore"])
    assert any(p and "seamret  blocked=1 | rtl" in p for p in problems)


def test_program_mode_checks_the_scenarios_expectation():
    """A wrong `expect` fails in program mode too, though the trace equals the model's."""
    scenario = load_scenario(SCENARIO_DIR / "b3_single_nmi_exit.yaml")
    scenario.expect["passes"][0]["claimed"] = [6]
    problems = run_programs([compile_scenario(scenario)])
    assert problems[0] and "expect.passes[0].claimed: expected [6], got [7]" in problems[0], problems


@pytest.mark.parametrize("bug", sorted(INVARIANT_CASES))
def test_program_mode_checks_the_invariants(bug):
    """Program mode runs the same reference-free invariants as interactive mode: each entry carries
    the NMI state around its edge, and edges that owed an event are recorded even without one."""
    name, fragment = INVARIANT_CASES[bug]
    problem, = run_programs([compile_scenario(load_scenario(SCENARIO_DIR / f"{name}.yaml"))], bugs=[bug])
    assert problem and "invariant broken: " in problem and fragment in problem, problem


def test_program_mode_invariants_catch_a_bug_the_reference_shares():
    """Were the reference wrong in the same way as the RTL (its trace the buggy one), the run still
    fails: the invariants read only the design's own state and events."""
    compiled = compile_scenario(load_scenario(SCENARIO_DIR / "spec6_fixed_noinstr_idt.yaml"))
    buggy = []
    run_programs([compiled], bugs=["seamret_always_restore"], traces=buggy)
    compiled.trace = buggy[0]
    problem, = run_programs([compiled], bugs=["seamret_always_restore"])
    assert problem and problem.split(": ", 1)[1].startswith("invariant broken: B5: fixed module keeps NMIs blocked"), problem


def test_owed_edges_add_no_entries_on_the_product_rtl():
    """Edges that owe a delivery or an NMI exit carry that event on correct RTL, so recording them
    costs no trace space: the trace has exactly one entry per edge with events."""
    compiled = [compile_scenario(load_scenario(p)) for p in FILES]
    raw = []
    assert run_programs(compiled, raw=raw) == [None] * len(compiled)
    for c, entries in zip(compiled, raw, strict=True):
        assert len(entries) == len({t.cycle for t in c.trace}), c.scenario.name
