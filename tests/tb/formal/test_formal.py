"""Formal proofs (SymbiYosys + Yices from PyPI): every property proves; every RTL mutant fails one."""

import pytest

from rtl.bugs import BUGS
from tb.formal.harness import COVERS, PROPERTIES, cover, prove

# The property that must catch each RTL defect (the formal view of the mutant list).
CATCHES = {
    "seamret_always_restore": "seamret_policy",
    "latch_counts": "latch_binary",
    "deliver_while_blocked": "no_delivery_while_blocked",
    "bitmap_not_cleared": "bitmap_cleared",
    "exit_qual_zero": "exit_qual_reports_bitmap",
    "seamcall_no_block": "blocked_in_seam",
    "debugctl_keep_guest": "host_state_policy",
    "star_not_cleared": "host_state_policy",
    "nmi_exit_ignores_latch": "latched_nmi_exits_td",
    "iret_ignored": "iret_unblocks_idt",
    "seamret_blocking_ignored": "seamret_policy",
    "fred_return_ignores_frame": "fred_other_return_keeps_blocking",
    "delivery_one_cycle_late": "deliverable_is_delivered",
    "fred_via_swapped": "delivery_reports_event",
    "vector_reported_wrong": "arrival_reports_input",
    "wake_ignores_phase": "state_changes_only_at_wake",
    "zero_step_window_ignored": "zero_step_window",
    "self_nmi_not_sent": "zero_step_absorbs",
    "zero_step_intr_ignored": "zero_step_window",
    "zero_step_intr_ends": "zero_step_absorbs",
}


def test_every_rtl_bug_has_a_property():
    assert set(CATCHES) == set(BUGS) and set(CATCHES.values()) <= set(PROPERTIES)


@pytest.mark.parametrize("name", list(PROPERTIES))
def test_property_proves_unbounded(name, tmp_path):
    result = prove(name, root=tmp_path)
    assert (result.status, result.method) == ("PASS", "k-induction"), result


def test_race_is_reachable_under_legacy(tmp_path):
    for name in COVERS:
        assert cover(name, root=tmp_path).status == "REACHED"


@pytest.mark.parametrize("bug", sorted(CATCHES))
def test_mutant_fails_its_property_with_a_counterexample(bug, tmp_path):
    result = prove(CATCHES[bug], bugs=[bug], root=tmp_path)
    assert result.status == "FAIL", result
    assert result.detail.endswith(".vcd") and "$var" in open(result.detail).read()


def test_a_selected_property_that_asserts_nothing_is_refused():
    """A misspelt property must never "prove": the harness refuses a selected property that emitted
    no assertion, before any solver runs; every real one emits."""
    from amaranth.back import rtlil

    from tb.formal.harness import PROPERTIES, FormalHarness

    for name in PROPERTIES:
        rtlil.convert(FormalHarness(props=[name]), ports=[])
    with pytest.raises(ValueError, match="'aux_invariant' emitted no assertion \\(no such property\\)"):
        rtlil.convert(FormalHarness(props=["aux_invariant"]), ports=[])
