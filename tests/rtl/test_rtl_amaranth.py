"""RTL unit tests in Amaranth's simulator, the library on the RTL against the model, and bug detection."""

import pytest
from amaranth.hdl import Value
from amaranth.sim import Simulator
from defect_cases import INVARIANT_CASES

from conftest import SCENARIO_DIR
from py_model import load_scenario
from rtl.bugs import BUGS, TRACE_BUGS
from rtl.generate import verilog_text
from rtl.interfaces import Phase
from rtl.nmi_controller import NmiController
from rtl.seam_sequencer import SeamSequencer
from tb.benches.amaranth_bench import run_on_amaranth

FILES = sorted(SCENARIO_DIR.glob("*.yaml"))


def simulate(dut, body):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(body)
    sim.run()


def test_nmi_controller_latch_drop_deliver_iret():
    dut = NmiController()
    seen = {}

    async def body(ctx):
        ctx.set(dut.seam.at_host, 1)
        ctx.set(dut.nmi, 1)
        ctx.set(dut.vector, 3)
        assert ctx.get(dut.latched) and not ctx.get(dut.seam.deliver)
        await ctx.tick()
        ctx.set(dut.nmi, 0)
        seen["deliver"] = ctx.get(dut.seam.deliver)  # latched and unblocked: delivered at this edge
        await ctx.tick()
        assert ctx.get(dut.seam.blocked) and not ctx.get(dut.latch)
        ctx.set(dut.nmi, 1)
        await ctx.tick()
        seen["dropped"] = ctx.get(dut.dropped)  # a second arrival while latched is dropped (A2)
        await ctx.tick()
        ctx.set(dut.nmi, 0)
        ctx.set(dut.iret, 1)
        await ctx.tick()
        ctx.set(dut.iret, 0)
        seen["after_iret"] = (ctx.get(dut.seam.blocked), ctx.get(dut.seam.deliver))

    simulate(dut, body)
    assert seen == {"deliver": 1, "dropped": 1, "after_iret": (0, 1)}


def test_nmi_controller_bitmap_into_exit_qualification():
    dut = NmiController()

    async def body(ctx):
        ctx.set(dut.nmi_source, 1)
        ctx.set(dut.nmi, 1)
        ctx.set(dut.vector, 5)
        ctx.set(dut.seam.block, 1)
        await ctx.tick()
        ctx.set(dut.seam.block, 0)
        ctx.set(dut.vector, 0)
        await ctx.tick()
        ctx.set(dut.nmi, 0)
        assert ctx.get(dut.bitmap) == (1 << 5) | 1
        ctx.set(dut.seam.in_guest, 1)
        assert ctx.get(dut.seam.nmi_exit) and ctx.get(dut.seam.exit_qual) == (1 << 5) | 1
        await ctx.tick()
        assert ctx.get(dut.bitmap) == 0 and not ctx.get(dut.latch)

    simulate(dut, body)


@pytest.mark.parametrize("fixed, expected_blocked", [(0, 0), (1, 1)])
def test_seam_sequencer_policy_at_seamret(fixed, expected_blocked):
    dut = SeamSequencer()
    seen = []

    async def body(ctx):
        for name, value in (("fixed", fixed), ("len_seamcall", 2), ("len_vmentry", 1), ("len_exit", 3)):
            ctx.set(getattr(dut, name), value)
        ctx.set(dut.seamcall, 1)
        await ctx.tick()
        ctx.set(dut.seamcall, 0)
        for _ in range(3):
            seen.append(ctx.get(Value.cast(dut.phase)))
            await ctx.tick()
        assert ctx.get(Value.cast(dut.phase)) == Phase.GUEST.value
        ctx.set(dut.nmi.nmi_exit, 1)
        await ctx.tick()
        ctx.set(dut.nmi.nmi_exit, 0)
        for _ in range(2):
            assert not ctx.get(dut.edges.seamret)
            await ctx.tick()
        assert ctx.get(dut.edges.seamret) and ctx.get(dut.nmi.load_value) == expected_blocked

    simulate(dut, body)
    assert seen == [Phase.SEAMCALL.value, Phase.SEAMCALL.value, Phase.VMENTRY.value]


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_library_on_rtl_matches_model(path):
    scenario = load_scenario(path)
    result = run_on_amaranth(scenario)
    assert result.ok, result.failure
    assert result.transactions == len(result.outcome.trace) > 0


# Each defect, and a scenario that must expose it with a named first difference.
BUG_CASES = {
    "seamret_always_restore": ("spec6_fixed_noinstr_idt", "seamret  blocked=1 | rtl"),
    "latch_counts": ("a2_latch_and_drop", "latch=0"),
    "deliver_while_blocked": ("a2_latch_and_drop", "reference"),
    "bitmap_not_cleared": ("a5_bitmap_coalesce_fred_ns", "bitmap=0x0000 | rtl"),
    "exit_qual_zero": ("spec6_legacy_noinstr_fred_ns", "qual=0x0008 reason=nmi | rtl @7     exit     qual=0x0000"),
    "seamcall_no_block": ("b3_single_nmi_exit", "blocked=1"),
    # Host-state defects are caught at the register-file checkpoint after SEAMRET, even where
    # KVM's later restores would hide them by return to user space (STAR).
    "debugctl_keep_guest": ("hs_first_posting", "DEBUGCTL: reference 0x4002, rtl 0x1000"),
    "star_not_cleared": ("hs_merged", "STAR: reference 0x0, rtl 0x6888"),
    "nmi_exit_ignores_latch": ("b2_latched_before_entry", "B2: an NMI latched when the TD ran did not exit it: edge @7"),
    "iret_ignored": ("a1_host_nmi_no_td", "NMIs still blocked after an IRET (A1): @9"),
    "fred_via_swapped": ("e2_fred_nesting", "via=fred | rtl"),
    "vector_reported_wrong": ("a1_host_nmi_no_td", "nmi      vector=3 | rtl"),
    "seamret_blocking_ignored": ("spec6_legacy_noinstr_idt", "blocked=0 latch=1 saved=0 bitmap=0x0000 | rtl"),
    "delivery_one_cycle_late": ("a1_host_nmi_no_td", "reference @1     deliver  bitmap=0x0000 via=idt | rtl @2     deliver"),
    "fred_return_ignores_frame": ("spec6_fixed_late_fred_fault", "reference @25    iret     nmi=1 | rtl @17    deliver"),
    "zero_step_window_ignored": ("b6_nmi_after_the_window_exits",
                                 "reference @11    exit     qual=0x0000 reason=nmi | rtl @11    step"),
    "self_nmi_not_sent": ("b6_zero_step_nmi_exit", "reference @17 phase=3 blocked=1 latch=1"),
    "zero_step_intr_ignored": ("b6_interrupt_exit_in_window_steps",
                               "reference @7     step     intr=1 | rtl @7     exit     qual=0x0000 reason=interrupt"),
    "zero_step_intr_ends": ("b6_interrupt_exit_while_stepping_absorbed",
                            "reference @9     absorb   intr=1 | rtl @9     unstep   mtf=0"),
}


def test_every_bug_has_a_case():
    assert set(BUG_CASES) == set(BUGS) - set(TRACE_BUGS)
    # Host-state defects are caught at register checkpoints against the reference; a wrong vector
    # in the arrival event needs the stimulus to be known, so the scoreboard catches it alone.
    reference_only = ("debugctl_keep_guest", "star_not_cleared", "vector_reported_wrong")
    assert set(INVARIANT_CASES) == {bug for bug in BUGS if bug not in reference_only + TRACE_BUGS}


@pytest.mark.parametrize("bug", sorted(INVARIANT_CASES))
def test_invariants_name_the_broken_rule(bug):
    name, fragment = INVARIANT_CASES[bug]
    result = run_on_amaranth(load_scenario(SCENARIO_DIR / f"{name}.yaml"), bugs=[bug])
    assert any(fragment in v for v in result.violations), result.violations


def test_invariants_hold_on_the_product_rtl():
    for path in FILES:
        result = run_on_amaranth(load_scenario(path))
        assert result.violations == [], (path.name, result.violations)


@pytest.mark.parametrize("bug", sorted(BUG_CASES))
def test_scoreboard_catches_rtl_bug(bug):
    name, fragment = BUG_CASES[bug]
    scenario = load_scenario(SCENARIO_DIR / f"{name}.yaml")
    result = run_on_amaranth(scenario, bugs=[bug], label=f"{name} with {bug}")
    assert not result.ok
    assert fragment in result.failure, result.failure
    assert result.failure.startswith(f"{name} with {bug}: ")
    assert run_on_amaranth(scenario).ok  # the same scenario passes on the product RTL


def test_bug_variants_change_the_netlist_and_unknown_bugs_are_refused():
    clean = verilog_text()
    assert all(verilog_text([bug]) != clean for bug in BUGS)
    with pytest.raises(ValueError, match="unknown RTL bug"):
        verilog_text(["no_such_bug"])
