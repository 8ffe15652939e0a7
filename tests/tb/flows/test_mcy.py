"""`make mcy` pieces: source lines, waivers, the mutant list's reproducibility, the formal stage.
The whole flow (mutants, one Verilator build, campaign, equivalence) runs in CI as `make mcy N=30`."""

import re
import subprocess

import pytest

from tb.flows.mcy_netlist import PREP, Netlist, list_mutations, read_netlist, source_of, yosys
from tb.flows.mcy_waivers import WAIVERS, waiver


def test_mutations_are_reproducible_from_their_seed(tmp_path):
    first = list_mutations(tmp_path, 12, 1)
    assert len(first) == 12 and first == list_mutations(tmp_path, 12, 1)
    assert first != list_mutations(tmp_path, 12, 2)
    assert all(m.startswith("mutate -mode ") and "-module nmi_top" in m for m in first)
    assert any(source_of(m).startswith("rtl/") for m in first)


# Each waiver of the table, with a mutation it waives and a near one it must not (the same signal
# forced the other way, or another bit): a waiver too broad or too narrow fails here.
EMPTY = Netlist()
AT_HOST = "mutate -mode const1 -module nmi_top -cell $flatten\\seq.$33 -port Y -portbit 0 -wire at_host -wirebit 0"
SAVED = "mutate -mode const0 -module nmi_top -cell $flatten\\seq.$74 -port Q -portbit 0 -wire saved_blocked -wirebit 0"
DEBUGCTL = ("mutate -mode const0 -module nmi_top -cell $flatten\\hs.$110 -port Q -portbit {0} "
            "-wire hs.debugctl_at_seamcall -wirebit {0}")
CYCLE = "mutate -mode const0 -module nmi_top -cell $54 -port A -portbit {0} -wire trace__cycle -wirebit {0} -src x"
WAIVED = {  # waiver name: (waived, not waived, a fragment of its reason)
    "at_host_forced_one": (AT_HOST, AT_HOST.replace("const1", "const0"), "B1"),
    "enters_unblocked": (SAVED, SAVED.replace("const0", "const1"), "B4"),
    "debugctl_bits_never_read": (DEBUGCTL.format(29), DEBUGCTL.format(12), "bits 1, 12 and 14"),
    "cycle_bit_beyond_the_run_bound": (CYCLE.format(21), CYCLE.format(5), "beyond the run bound"),
}


@pytest.mark.parametrize("name", sorted(WAIVED))
def test_a_waiver_waives_what_it_says_and_no_more(name):
    waived, kept, reason = WAIVED[name]
    assert reason in waiver(waived, EMPTY) and waiver(kept, EMPTY) is None
    rule = next(w for w in WAIVERS if w.name == name)
    from tb.flows.mcy_waivers import Mutation

    assert rule.applies(Mutation.read(waived, EMPTY)) and not rule.applies(Mutation.read(kept, EMPTY))


def test_every_waiver_is_tested():
    """The four above, and the two that need the netlist's facts (tests below), are the whole table."""
    assert {w.name for w in WAIVERS} == set(WAIVED) | {"reset_value_of_an_event_output", "host_never_at_delivery"}


def test_a_mutant_with_no_known_reason_is_not_waived():
    assert waiver("mutate -mode inv -module nmi_top -cell $flatten\\nmi.$62 -port Q -portbit 7 -wire bitmap", EMPTY) is None


def test_a_mutated_and_input_is_waived_by_the_signal_it_carries(tmp_path):
    """A constant on the at_host input of the delivery AND (no -wire in the mutation) is the at_host
    rule; the same constant on its latch input is not waived."""
    list_mutations(tmp_path, 1, 1)  # writes the design's RTLIL
    netlist = read_netlist(tmp_path)
    cell = next(c for c, ports in netlist.and_inputs.items() if ports.get("A", "").endswith("seam__at_host")
                and ports.get("B", "").endswith(".latch"))
    mutation = f"mutate -mode const1 -module nmi_top -cell {cell} -port A -portbit 0"
    assert "B1" in waiver(mutation, netlist)
    assert waiver(mutation.replace("-port A", "-port B"), netlist) is None


def test_formal_stage_holds_on_the_original_and_names_the_property_a_mutant_breaks(tmp_path):
    """The property set over a netlist's ports: the original holds to the depth, a mutant that
    raises the exit event without its reason breaks the NMI-exit qualification property."""
    from tb.flows.mcy_stages import FORMAL_DEPTH, formal_check

    list_mutations(tmp_path, 1, 1)  # writes the design's RTLIL (top.il)
    assert formal_check(tmp_path, 0, None)["formal"] == f"holds to {FORMAL_DEPTH}"
    dump = subprocess.run([yosys(), "-p", f"{PREP}; dump t:$dff t:$sdff"], cwd=tmp_path, capture_output=True,
                          text=True).stdout
    cell, = re.findall(r"cell \$s?dff (\S+)\n(?:\s+(?:parameter|connect \\(?!Q)).*\n)*\s+connect \\Q \\ev__exit\n", dump)
    stuck_exit = f"mutate -mode const1 -module nmi_top -cell {cell} -port Q -portbit 0 -wire ev__exit -wirebit 0"
    got = formal_check(tmp_path, 1, stuck_exit)
    assert got["formal"] == "killed" and "exit_qual_reports_bitmap" in got["property"], got


def test_a_reset_select_is_waived_by_the_register_it_resets(tmp_path):
    """Reset never applied to the SEAMCALL-time blocking register changes nothing a legal host sees
    (it only ever holds 0); reset always applied is observable."""
    list_mutations(tmp_path, 1, 1)
    netlist = read_netlist(tmp_path)
    cell = next(c for c, ports in netlist.muxes.items() if ports.get("S") == "\\rst"
                and netlist.held_register(c) == "seq.saved_blocked")
    mutation = f"mutate -mode const0 -module nmi_top -cell {cell} -port S -portbit 0"
    assert "B4" in waiver(mutation, netlist)
    assert waiver(mutation.replace("const0", "const1"), netlist) is None


def test_the_reset_value_of_an_event_output_is_waived_and_its_select_is_not(tmp_path):
    list_mutations(tmp_path, 1, 1)
    netlist = read_netlist(tmp_path)
    cell = sorted(netlist.reset_muxes)[0]
    assert "while reset is asserted" in waiver(f"mutate -mode const1 -module nmi_top -cell {cell} -port B -portbit 0",
                                                 netlist)
    assert waiver(f"mutate -mode inv -module nmi_top -cell {cell} -port A -portbit 0", netlist) is None


def test_a_gating_term_forced_to_what_a_legal_host_makes_it_is_waived(tmp_path):
    """The IRET gate (rtl/top.py's iret_taken): forced to 1 it changes nothing a legal host does."""
    from tb import ROOT
    from tb.flows.mcy_waivers import _line

    line = _line("rtl/top.py", "iret_taken = ")  # as a cell's src attribute names it: the file's path, its line
    mutation = f"mutate -mode const1 -module nmi_top -cell $x -port Y -portbit 0 -src {ROOT}/{line}"
    assert "every term gating IRET and SEAMCALL" in waiver(mutation, EMPTY)
    assert waiver(mutation.replace("const1", "inv"), EMPTY) is None
