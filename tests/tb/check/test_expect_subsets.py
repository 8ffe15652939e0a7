"""Any subset of an `expect`'s keys is judged, in every mode, by that mode's own checker (issue 25):
a true subset passes, a wrong value under any drawn key fails naming it, and nothing crashes.

The outcomes are real: the library run once on the model, once in interactive mode, once in program
mode and once on the softcore. Hypothesis then draws subsets of the library's hand-written
expectations (passes with any of their keys, counters, inversions, lost, host state) and one
mutation each.
"""

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SCENARIO_DIR
from py_model import check_expect, load_scenario, run_model
from py_model.outcome import Outcome
from tb.check.softcore_check import judge_expect
from tb.sim.verilator import run_test

LIBRARY = {s.name: s for s in (load_scenario(p) for p in sorted(SCENARIO_DIR.glob("*.yaml")))}
VIAS, RESULTS = ("idt", "fred", "kvm"), ("handled", "swallowed", "unknown", "external", "latched")


@pytest.fixture(scope="module")
def outcomes():
    """scenario -> mode -> (the mode's checker, its outcome of that scenario)."""
    per_mode = {"model": {name: (run_model(s), ()) for name, s in LIBRARY.items()}}
    for mode in ("interactive", "program", "softcore"):
        report = run_test("library", 1, quiet=True, mode=mode)
        assert report["error"] is None and all(r["ok"] for r in report["runs"]), (mode, report.get("error"))
        per_mode[mode] = {r["scenario"]: (Outcome.from_json(r["outcome"]),
                                          tuple((r.get("firmware") or {}).get("software_timed", ())))
                          for r in report["runs"]}
    return {name: {mode: runs[name] for mode, runs in per_mode.items()} for name in LIBRARY}


def judge(mode: str, expect: dict, outcome, software_timed) -> str | None:
    """The mode's own checker: check_expect (model, interactive, program: tb/check/checker.py and
    program_check.py call it), the softcore's judge_expect (with what it refuses)."""
    if mode == "softcore":
        status, miss = judge_expect(expect, outcome, list(software_timed), timed=False)
        return miss if status != "PASS" else None
    return check_expect(expect, outcome)


@st.composite
def drawn(draw):
    """(scenario name, a subset of its expect, the path of one drawn leaf, a wrong value for it)."""
    name = draw(st.sampled_from(sorted(LIBRARY)))
    full = LIBRARY[name].expect
    expect, leaves = {}, []
    for key in draw(st.lists(st.sampled_from(sorted(full)), min_size=1, unique=True)):
        if key == "passes":
            expect["passes"] = []
            for i, p in enumerate(full["passes"]):
                keep = draw(st.lists(st.sampled_from(sorted(p)), unique=True))
                expect["passes"].append({k: copy.deepcopy(p[k]) for k in keep})
                leaves += [("passes", i, k) for k in keep]
            leaves.append(("passes", None, None))  # the number of passes itself
        elif isinstance(full[key], dict):
            keep = draw(st.lists(st.sampled_from(sorted(full[key])), min_size=1, unique=True))
            expect[key] = {k: copy.deepcopy(full[key][k]) for k in keep}
            leaves += [(key, None, k) for k in keep]
        else:
            expect[key] = full[key]
            leaves.append((key, None, None))
    return name, expect, draw(st.sampled_from(leaves))


def wrong(value):
    """A different value of the same kind."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if value is None:
        return [15]
    if isinstance(value, list):
        return value + [15] if 15 not in value else value[:-1]
    if value in VIAS:
        return VIAS[(VIAS.index(value) + 1) % len(VIAS)]
    if value in RESULTS:
        return RESULTS[(RESULTS.index(value) + 1) % len(RESULTS)]
    return "host:9" if value != "host:9" else "R_seam"


def mutate(expect: dict, leaf) -> tuple[dict, str]:
    """``expect`` with the leaf's value wrong, and the key the failure must name."""
    bad = copy.deepcopy(expect)
    key, index, sub = leaf
    if key == "passes" and index is None:
        bad["passes"].append({})  # one pass more than ran
        return bad, "expect.passes"
    if key == "passes":
        bad["passes"][index][sub] = wrong(bad["passes"][index][sub])
        return bad, f"expect.passes[{index}]"
    if sub is not None:
        bad[key][sub] = wrong(bad[key][sub])
        return bad, f"expect.{key}.{sub}"
    bad[key] = wrong(bad[key])
    return bad, f"expect.{key}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn())
def test_any_subset_of_expect_is_judged_in_every_mode(outcomes, case):
    name, expect, leaf = case
    bad, names = mutate(expect, leaf)
    for mode, (outcome, software_timed) in outcomes[name].items():
        refused = mode == "softcore" and any("cycle" in p and i in software_timed
                                             for i, p in enumerate(expect.get("passes", [])))
        miss = judge(mode, expect, outcome, software_timed)
        if refused:  # the one key softcore mode cannot judge: refused by name, never ignored
            assert miss and ".cycle: softcore mode cannot judge" in miss, (mode, name, miss)
            continue
        assert miss is None, (mode, name, expect, miss)
        miss = judge(mode, bad, outcome, software_timed)
        assert miss and names in miss, (mode, name, bad, miss)
