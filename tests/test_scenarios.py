"""Every library scenario meets its hand-derived `expect` on the model, with and without idle skipping."""

import pytest

from py_model import check_expect, load_scenario, run_model

from conftest import SCENARIO_DIR

FILES = sorted(SCENARIO_DIR.glob("*.yaml"))


def test_library_is_not_empty():
    assert len(FILES) >= 15


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_library_scenario(path):
    scenario = load_scenario(path)
    assert scenario.expect, f"{path.name} has no expect"
    outcome = run_model(scenario)
    assert check_expect(scenario.expect, outcome) is None, check_expect(scenario.expect, outcome)
    # Skipping idle stretches must not change anything, trace included.
    assert run_model(scenario, skip_idle=False).to_json() == outcome.to_json()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_directed_scenario_carries_full_expectations(path):
    """Hand-derived outcomes, not signs: every pass (via, rip, claimed, result), all four counters,
    inversions and lost, so a wrong model fails the file itself (host-state cases: their register check)."""
    scenario = load_scenario(path)
    expect = scenario.expect
    if scenario.host_state is not None:
        assert "host_state" in expect
        return
    assert {"passes", "counts", "inversions", "lost"} <= set(expect), sorted(expect)
    assert set(expect["counts"]) == {"normal", "unknown", "swallow", "external"}
    assert all({"via", "rip", "claimed", "result"} <= set(p) for p in expect["passes"])
