"""The launcher-bench contract (tb/sim/settings.py): one typed object, validated once, one line per error."""

import pytest

from py_model import config
from tb.sim.settings import ENV_NAME, RunSettings, SettingsError


def test_settings_travel_whole_and_typed():
    sent = RunSettings(test="library", seed=7, seeds=(1, 2), scenario_files=("a.yaml",), results="/tmp/r.json",
                       hdl_clock=True, strict=True, firmware="fw.bin", max_cycles=1234, soak_pins={"cfg__x": 1},
                       mutants=(3, 4), kill_tests=("nmi_seamret",))
    got = RunSettings.from_env(sent.to_env())
    assert got == sent and got.all_seeds == [1, 2]
    assert config.run_cycle_bound() == 1234  # the bench's model takes the launcher's bound
    config.set_run_cycle_bound(config.DEFAULT_RUN_CYCLE_BOUND)


@pytest.mark.parametrize("env, fragment", [
    ({}, "TB_SETTINGS is not set"),
    ({ENV_NAME: "{"}, "not JSON"),
    ({ENV_NAME: "[]"}, "expected an object"),
    ({ENV_NAME: '{"sede": 1}'}, "unknown setting 'sede'"),
    ({ENV_NAME: '{"seed": "1"}'}, "TB_SETTINGS.seed: expected int"),
    ({ENV_NAME: '{"strict": 1}'}, "TB_SETTINGS.strict: expected bool"),
    ({ENV_NAME: '{"seeds": [1, "x"]}'}, "TB_SETTINGS.seeds: expected a list of int"),
    ({ENV_NAME: '{"max_cycles": 0}'}, "max_cycles and soak_divisor must be >= 1"),
])
def test_a_bad_setting_is_one_line_naming_it(env, fragment):
    with pytest.raises(SettingsError) as err:
        RunSettings.from_env(env)
    assert fragment in str(err.value) and "\n" not in str(err.value)
