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
