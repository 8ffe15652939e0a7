"""`make mcy` pieces that need no solver: source lines, waivers, the mutant list's reproducibility.
The whole flow (mutants, one Verilator build, campaign, equivalence) runs in CI as `make mcy N=30`."""

from tb.mcy import list_mutations, source_of, waiver


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
