"""The scenario format rejects what it does not define, naming file, place and field; the CLI's exit codes."""

import json
import subprocess
import sys

import pytest

from conftest import ROOT, SCENARIO_DIR
from py_model import ScenarioFileError, load_scenario, parse_scenario

GOOD = {"timeline": ["enter", {"until": "guest"}, {"nmi": 3}, {"until": "host"}]}


def error_of(data):
    with pytest.raises(ScenarioFileError) as info:
        parse_scenario(data, source="f.yaml")
    return str(info.value)


@pytest.mark.parametrize("data, expected", [
    ([1, 2], "f.yaml: top level: expected a mapping"),
    ({**GOOD, "bogus": 1}, "f.yaml: key 'bogus': unknown top-level key"),
    ({**GOOD, "config": {"module": "beta"}}, "f.yaml: config.module: expected one of legacy, fixed, got 'beta'"),
    ({**GOOD, "config": {"speed": 3}}, "f.yaml: config.speed: unknown key"),
    ({**GOOD, "config": {"nmi_source": True}}, "f.yaml: config.nmi_source: NMI-source reporting needs entry: fred"),
    ({**GOOD, "config": {"exit": 0}}, "f.yaml: config.exit: expected an integer 1..255"),
    ({**GOOD, "config": {"handler": 4, "poll": 4}}, "f.yaml: config.poll: must be less than handler"),
    ({"timeline": []}, "f.yaml: timeline: expected a non-empty list"),
    ({"timeline": ["enter", {"nmi": 16}]}, "f.yaml: timeline[1].nmi: expected a source vector 0..15, got 16"),
    ({"timeline": ["enter", {"until": "sleep"}]},
     "f.yaml: timeline[1].until: expected one of guest, seam_root, host, handler"),
    ({"timeline": [{"wait": -1}]}, "f.yaml: timeline[0].wait: expected an integer >= 0"),
    ({"timeline": [{"exit": "nmi"}]}, "f.yaml: timeline[0].exit: expected one of interrupt, ept, tdvmcall"),
    ({"timeline": ["jump"]}, "f.yaml: timeline[0]: unknown step 'jump'"),
    ({"timeline": [{"nmi": 1, "wait": 2}]}, "f.yaml: timeline[0]: expected 'enter', 'fault' or a one-key mapping"),
    ({**GOOD, "expect": {"passes": [{"via": "nmi"}]}}, "f.yaml: expect.passes[0].via: expected one of idt, fred, kvm"),
    ({**GOOD, "expect": {"passes": [{"rip": "R_x"}]}}, "f.yaml: expect.passes[0].rip: expected R_seam, R_kvm or host:N"),
    ({**GOOD, "expect": {"counts": {"weird": 1}}}, "f.yaml: expect.counts.weird: unknown counter"),
    ({**GOOD, "expect": {"inversions": "one"}}, "f.yaml: expect.inversions: expected an integer >= 0"),
])
def test_invalid_input_is_named(data, expected):
    assert error_of(data).startswith(expected)


def test_name_defaults_to_file_stem(tmp_path):
    path = tmp_path / "my_case.yaml"
    path.write_text(json.dumps(GOOD))  # JSON is valid YAML
    assert load_scenario(path).name == "my_case"


def test_unreadable_and_malformed_files(tmp_path):
    with pytest.raises(ScenarioFileError, match="cannot read"):
        load_scenario(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("timeline: [enter\n")
    with pytest.raises(ScenarioFileError, match="not valid YAML"):
        load_scenario(bad)


def cli(*args):
    return subprocess.run([sys.executable, "-m", "py_model", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_cli_passes_a_library_file_and_writes_json(tmp_path):
    out = tmp_path / "o.json"
    result = cli("run", str(SCENARIO_DIR / "spec6_legacy_noinstr_idt.yaml"), "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(out.read_text())
    assert data["ok"] and data["inversions"] == 1 and data["trace"] and data["mode"] == "model"


def test_cli_wrong_expect_fails_with_first_difference(tmp_path):
    path = tmp_path / "wrong.yaml"
    path.write_text((SCENARIO_DIR / "spec6_legacy_noinstr_idt.yaml").read_text().replace("rip: R_seam", "rip: R_kvm"))
    result = cli("run", str(path))
    assert result.returncode == 1
    assert "expect.passes[0].rip: expected 'R_kvm', got 'R_seam'" in result.stdout


def test_cli_invalid_file_exits_2(tmp_path):
    path = tmp_path / "invalid.yaml"
    path.write_text("timeline:\n  - enter\n  - nmi: 99\n")
    result = cli("run", str(path))
    assert result.returncode == 2
    assert "timeline[1].nmi: expected a source vector 0..15, got 99" in result.stderr


def test_run_errors_name_the_step(tmp_path):
    path = tmp_path / "noguest.yaml"
    path.write_text("timeline:\n  - exit: ept\n")
    result = cli("run", str(path))
    assert result.returncode == 1 and "timeline[0] at cycle 0: exit: ept: no TD is running" in result.stderr
    path.write_text("timeline:\n  - enter\n  - enter\n")
    result = cli("run", str(path))
    assert result.returncode == 1 and "timeline[1]" in result.stderr and "already inside an entry" in result.stderr
    path.write_text("timeline:\n  - until: handler\n")
    result = cli("run", str(path))
    assert result.returncode == 1 and "until: handler did not hold within 10000 cycles" in result.stderr
