"""`make mcy` pieces: source lines, waivers, the mutant list's reproducibility, the formal stage.
The whole flow (mutants, one Verilator build, campaign, equivalence) runs in CI as `make mcy N=30`."""

import re
import subprocess

from tb.flows.mcy import PREP, list_mutations, source_of, waiver, yosys


def test_mutations_are_reproducible_from_their_seed(tmp_path):
    first = list_mutations(tmp_path, 12, 1)
    assert len(first) == 12 and first == list_mutations(tmp_path, 12, 1)
    assert first != list_mutations(tmp_path, 12, 2)
    assert all(m.startswith("mutate -mode ") and "-module nmi_top" in m for m in first)
    assert any(source_of(m).startswith("rtl/") for m in first)


def test_only_known_unobservable_survivors_are_waived():
    at_host = "mutate -mode const1 -module nmi_top -cell $flatten\\seq.$33 -port Y -portbit 0 -wire at_host -wirebit 0"
    saved = "mutate -mode const0 -module nmi_top -cell $flatten\\seq.$74 -port Q -portbit 0 -wire saved_blocked -wirebit 0"
    assert "B1" in waiver(at_host) and "B4" in waiver(saved)
    assert waiver(at_host.replace("const1", "const0")) is None  # at_host stuck at 0 is observable
    assert waiver("mutate -mode inv -module nmi_top -cell $flatten\\nmi.$62 -port Q -portbit 7 -wire bitmap") is None
    debugctl = ("mutate -mode const0 -module nmi_top -cell $flatten\\hs.$110 -port Q -portbit {0} "
                "-wire hs.debugctl_at_seamcall -wirebit {0}")
    assert "bits 1, 12 and 14" in waiver(debugctl.format(29))
    assert waiver(debugctl.format(12)) is None  # a kept bit is observable
    cycle = "mutate -mode const0 -module nmi_top -cell $54 -port A -portbit {0} -wire trace__cycle -wirebit {0} -src x"
    assert "beyond the run bound" in waiver(cycle.format(21))  # first changes after 2**21 cycles
    assert waiver(cycle.format(5)) is None  # a bit any run reaches


def test_a_mutated_and_input_is_waived_by_the_signal_it_carries(tmp_path):
    """A constant on the at_host input of the delivery AND (no -wire in the mutation) is the at_host
    rule; the same constant on its latch input is not waived."""
    from tb.flows import mcy

    list_mutations(tmp_path, 1, 1)  # fills AND_INPUTS from the design
    cell = next(c for c, ports in mcy.AND_INPUTS.items() if ports.get("A", "").endswith("seam__at_host")
                and ports.get("B", "").endswith(".latch"))
    mutation = f"mutate -mode const1 -module nmi_top -cell {cell} -port A -portbit 0"
    assert "B1" in waiver(mutation)
    assert waiver(mutation.replace("-port A", "-port B")) is None


def test_formal_stage_holds_on_the_original_and_names_the_property_a_mutant_breaks(tmp_path):
    """The property set over a netlist's ports: the original holds to the depth, a mutant that
    raises the exit event without its reason breaks the NMI-exit qualification property."""
    from tb.flows.mcy import FORMAL_DEPTH, formal_check

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
    from tb.flows import mcy

    list_mutations(tmp_path, 1, 1)
    cell = next(c for c, ports in mcy.MUXES.items() if ports.get("S") == "\\rst"
                and mcy.held_register(c) == "seq.saved_blocked")
    mutation = f"mutate -mode const0 -module nmi_top -cell {cell} -port S -portbit 0"
    assert "B4" in waiver(mutation)
    assert waiver(mutation.replace("const0", "const1")) is None
