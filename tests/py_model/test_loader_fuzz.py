"""The scenario loader under hostile input: every outcome is a scenario or a ScenarioFileError.

Random bytes, random edits of the library's files, and the shapes the format does not define
(wrong container types, duplicate keys, non-UTF-8, deep nesting, unhashable values).
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SCENARIO_DIR
from py_model import ScenarioFileError, load_scenario

LIBRARY = sorted(SCENARIO_DIR.glob("*.yaml"))


def load_bytes(tmp_path, data: bytes):
    path = tmp_path / "s.yaml"
    path.write_bytes(data)
    try:
        return load_scenario(path)
    except ScenarioFileError as err:
        message = str(err)
        assert message.startswith(str(path)) and "\n" not in message, message
        return None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_random_bytes_load_or_fail_cleanly(tmp_path, data):
    load_bytes(tmp_path, data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(LIBRARY), st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 6),
                                                   st.sampled_from(["", " ", "\n", ":", "- ", "[", "]", "{", "}",
                                                                    "0", "-1", "null", "false", "[]", "{}",
                                                                    "  x: 1\n", "\xff", "&a ", "*a", "!!python/none"])),
                                   min_size=1, max_size=4))
def test_mutated_library_files_load_or_fail_cleanly(tmp_path, path, edits):
    text = path.read_text()
    for pos, length, insert in edits:
        pos = pos % (len(text) + 1)
        text = text[:pos] + insert + text[pos + length:]
    load_bytes(tmp_path, text.encode("utf-8", "surrogateescape"))


GOOD = "timeline: [enter, {until: guest}, {nmi: 3}, {until: host}]\n"


@pytest.mark.parametrize("text, where", [
    (GOOD + "expect: []\n", "expect"),
    (GOOD + "expect: false\n", "expect"),
    (GOOD + "expect:\n", "expect"),
    (GOOD + "config: 0\n", "config"),
    (GOOD + "config: []\n", "config"),
    (GOOD + "host_state: false\n", "host_state"),
    (GOOD + "host_state: {preset: [merged]}\n", "host_state.preset"),
    (GOOD + "host_state: {td: []}\n", "host_state.td"),
    (GOOD + "config: {module: fixed}\nconfig: {module: legacy}\n", "duplicate key 'config'"),
    (GOOD + "config: {module: fixed, module: legacy}\n", "duplicate key 'module'"),
    (GOOD + "expect: {passes: [{via: [idt]}]}\n", "expect.passes[0].via"),
    ("timeline: [enter, {until: [guest]}]\n", "timeline[1].until"),
    ("timeline: [enter, {[1]: 2}]\n", "unhashable key"),
    ("timeline: [enter, {exit: {a: 1}}]\n", "timeline[1].exit"),
    ("timeline: " + "[" * 5000 + "]" * 5000 + "\n", "s.yaml:"),
    (GOOD + 'config: {"v\\n2": 1}\n', "config.v\\n2: unknown key"),  # a newline in a key stays escaped
])
def test_undefined_shapes_are_refused_with_their_place(tmp_path, text, where):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioFileError) as err:
        load_scenario(path)
    assert where in str(err.value), str(err.value)


def test_non_utf8_and_directories_are_refused(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_bytes(GOOD.encode() + b"# \xff\xfe\n")
    with pytest.raises(ScenarioFileError, match="not UTF-8 text"):
        load_scenario(path)
    with pytest.raises(ScenarioFileError, match="is a directory"):
        load_scenario(tmp_path)


def test_every_library_file_still_loads():
    for path in LIBRARY:
        load_scenario(path)
