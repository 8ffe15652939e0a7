"""Scenario files (shared/SCENARIOS.md): loading with field-level validation.

Anything the format does not define is rejected with the file, the place (step index or
key), the field and what was expected. The loader never guesses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .config import CONFIG_KEYS, Config
from .host_state import PRESETS, REGISTERS, RESTORE_STEPS, HostStateConfig
from .transactions import EXIT_REASONS

TOP_KEYS = ("name", "description", "config", "host_state", "timeline", "expect")
HOST_STATE_KEYS = ("preset", "td", "host_breakpoints", "host", "guest", "restore")
TD_KEYS = ("tsx", "waitpkg")
UNTIL_STATES = ("guest", "seam_root", "host", "handler", "poll", "polled")
EXIT_NAMES = tuple(name for name in EXIT_REASONS if name != "nmi")
EXPECT_KEYS = ("passes", "counts", "inversions", "lost", "host_state")
EXPECT_HOST_STATE_KEYS = ("refused", "differs", "scratch_clobbered")
PASS_KEYS = ("via", "rip", "bitmap", "claimed", "result", "arrivals", "cycle")
COUNT_KEYS = ("normal", "unknown", "swallow", "external")
VIAS = ("idt", "fred", "kvm")
RESULTS = ("handled", "swallowed", "unknown", "external", "latched")


class ScenarioFileError(Exception):
    """An invalid scenario file; the message names the file, the place and the field."""


@dataclass
class Scenario:
    name: str
    config: Config
    steps: list[tuple[str, object]]
    description: str = ""
    expect: dict = field(default_factory=dict)
    source: str = "<inline>"
    host_state: HostStateConfig | None = None


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing duplicate keys (the default silently keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                raise yaml.constructor.ConstructorError(None, None, f"unhashable key {key!r}",
                                                        key_node.start_mark) from None
            if duplicate:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


MAX_FILE_BYTES = 1 << 20  # a scenario is a few hundred bytes; a megabyte is not a scenario


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        if path.is_dir():
            raise ScenarioFileError(f"{path}: is a directory, not a scenario file")
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise ScenarioFileError(f"{path}: cannot read: {err.strerror}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioFileError(f"{path}: larger than {MAX_FILE_BYTES} bytes; not a scenario file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ScenarioFileError(f"{path}: not UTF-8 text (byte {err.start}: {raw[err.start:err.start + 1]!r})") from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as err:
        raise ScenarioFileError(f"{path}: not valid YAML: {' '.join(str(err).split())}") from None
    except RecursionError:
        raise ScenarioFileError(f"{path}: nested too deeply to be a scenario") from None
    return parse_scenario(data, source=str(path), default_name=path.stem)


def parse_scenario(data, source: str = "<inline>", default_name: str = "scenario") -> Scenario:
    def fail(where: str, message: str):
        # One line, whatever the file holds: control characters in keys and values are shown escaped.
        text = f"{where}: {message}"
        text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
        raise ScenarioFileError(f"{source}: {text}")

    if not isinstance(data, dict):
        fail("top level", f"expected a mapping with keys {', '.join(TOP_KEYS)}, got {_kind(data)}")
    for key in data:
        if key not in TOP_KEYS:
            fail(f"key {key!r}", f"unknown top-level key; expected one of {', '.join(TOP_KEYS)}")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name:
        fail("name", f"expected a non-empty string, got {name!r}")
    description = data.get("description", "")
    if not isinstance(description, str):
        fail("description", f"expected a string, got {_kind(description)}")

    raw_config = data.get("config", {})
    if not isinstance(raw_config, dict):
        fail("config", f"expected a mapping, got {_kind(raw_config)}")
    for key in raw_config:
        if key not in CONFIG_KEYS:
            fail(f"config.{key}", f"unknown key; expected one of {', '.join(CONFIG_KEYS)}")
    try:
        config = Config(**raw_config)
    except ValueError:
        key, message = Config.problems(_unchecked_config(raw_config))[0]
        fail(f"config.{key}", message)

    timeline = data.get("timeline")
    if not isinstance(timeline, list) or not timeline:
        fail("timeline", f"expected a non-empty list of steps, got {_kind(timeline)}")
    steps = [_parse_step(i, step, fail) for i, step in enumerate(timeline)]

    host_state = _parse_host_state(data["host_state"], fail) if "host_state" in data else None
    expect = data.get("expect", {})
    _check_expect(expect, fail)
    if "host_state" in expect and host_state is None:
        fail("expect.host_state", "needs a host_state section to model host state")
    return Scenario(name, config, steps, description, expect, source, host_state)


def _parse_host_state(raw, fail) -> HostStateConfig:
    _keyed_mapping(raw, "host_state", HOST_STATE_KEYS, "key", fail)
    preset = raw.get("preset", "merged")
    if not isinstance(preset, str) or preset not in PRESETS:
        fail("host_state.preset", f"expected one of {', '.join(PRESETS)}, got {preset!r}")
    td = raw.get("td", {})
    if not isinstance(td, dict) or any(k not in TD_KEYS for k in td):
        fail("host_state.td", f"expected a mapping with keys among {', '.join(TD_KEYS)}, got {td!r}")
    for key in ("tsx", "waitpkg"):
        if not isinstance(td.get(key, False), bool):
            fail(f"host_state.td.{key}", f"expected true or false, got {td[key]!r}")
    breakpoints = raw.get("host_breakpoints", True)
    if not isinstance(breakpoints, bool):
        fail("host_state.host_breakpoints", f"expected true or false, got {breakpoints!r}")
    values = {}
    for side in ("host", "guest"):
        regs = raw.get(side, {})
        if not isinstance(regs, dict):
            fail(f"host_state.{side}", f"expected a mapping of register names to values, got {_kind(regs)}")
        for reg, value in regs.items():
            if not isinstance(reg, str) or reg not in REGISTERS:
                fail(f"host_state.{side}.{reg}", f"unknown register; expected one of {', '.join(REGISTERS)}")
            if not _is_int(value) or not 0 <= value < 1 << 64:
                fail(f"host_state.{side}.{reg}", f"expected a 64-bit unsigned integer, got {value!r}")
        values[side] = dict(regs)
    restore = raw.get("restore", {})
    if not isinstance(restore, dict):
        fail("host_state.restore", f"expected a mapping of restore steps to true/false, got {_kind(restore)}")
    for step, on in restore.items():
        if not isinstance(step, str) or step not in RESTORE_STEPS:
            fail(f"host_state.restore.{step}", f"unknown restore step; expected one of {', '.join(RESTORE_STEPS)}")
        if not isinstance(on, bool):
            fail(f"host_state.restore.{step}", f"expected true or false, got {on!r}")
    return HostStateConfig(preset, td.get("tsx", False), td.get("waitpkg", False), breakpoints,
                           values["host"], values["guest"], dict(restore))


def _parse_step(i: int, step, fail) -> tuple[str, object]:
    where = f"timeline[{i}]"
    if step in ("enter", "fault"):
        return step, None
    if isinstance(step, str):
        fail(where, f"unknown step {step!r}; expected enter, fault, or one of until/wait/nmi/exit with a value")
    if not isinstance(step, dict) or len(step) != 1:
        fail(where, f"expected 'enter', 'fault' or a one-key mapping (until/wait/nmi/exit), got {step!r}")
    (kind, value), = step.items()
    if not isinstance(kind, str):
        fail(where, f"expected a step name, got {kind!r}")
    if kind == "until":
        if not isinstance(value, str) or value not in UNTIL_STATES:
            fail(f"{where}.until", f"expected one of {', '.join(UNTIL_STATES)}, got {value!r}")
    elif kind == "wait":
        if not _is_int(value) or value < 0:
            fail(f"{where}.wait", f"expected an integer >= 0 (cycles), got {value!r}")
    elif kind == "nmi":
        if not _is_int(value) or not 0 <= value <= 15:
            fail(f"{where}.nmi", f"expected a source vector 0..15, got {value!r}")
    elif kind == "exit":
        if not isinstance(value, str) or value not in EXIT_NAMES:
            fail(f"{where}.exit", f"expected one of {', '.join(EXIT_NAMES)}, got {value!r}")
    else:
        fail(where, f"unknown step {kind!r}; expected enter, fault, until, wait, nmi or exit")
    return kind, value


def _check_expect(expect, fail) -> None:
    _keyed_mapping(expect, "expect", EXPECT_KEYS, "key", fail)
    for key in ("inversions", "lost"):
        if key in expect and (not _is_int(expect[key]) or expect[key] < 0):
            fail(f"expect.{key}", f"expected an integer >= 0, got {expect[key]!r}")
    hs = _keyed_mapping(expect.get("host_state", {}), "expect.host_state", EXPECT_HOST_STATE_KEYS, "key", fail)
    for key, value in hs.items():
        if key == "refused" and not isinstance(value, bool):
            fail("expect.host_state.refused", f"expected true or false, got {value!r}")
        if key != "refused" and not (isinstance(value, list) and all(v in REGISTERS for v in value)):
            fail(f"expect.host_state.{key}", f"expected a list of register names, got {value!r}")
    counts = _keyed_mapping(expect.get("counts", {}), "expect.counts", COUNT_KEYS, "counter", fail)
    for key, value in counts.items():
        if not _is_int(value) or value < 0:
            fail(f"expect.counts.{key}", f"expected an integer >= 0, got {value!r}")
    passes = expect.get("passes", [])
    if not isinstance(passes, list):
        fail("expect.passes", f"expected a list, got {_kind(passes)}")
    for i, entry in enumerate(passes):
        where = f"expect.passes[{i}]"
        if not isinstance(entry, dict):
            fail(where, f"expected a mapping with keys among {', '.join(PASS_KEYS)}, got {entry!r}")
        for key, value in entry.items():
            if key not in PASS_KEYS:
                fail(f"{where}.{key}", f"unknown key; expected one of {', '.join(PASS_KEYS)}")
            if key == "via" and not (isinstance(value, str) and value in VIAS):
                fail(f"{where}.via", f"expected one of {', '.join(VIAS)}, got {value!r}")
            if key == "result" and not (isinstance(value, str) and value in RESULTS):
                fail(f"{where}.result", f"expected one of {', '.join(RESULTS)}, got {value!r}")
            if key == "rip" and not (isinstance(value, str) and (value in ("R_seam", "R_kvm") or _is_host_rip(value))):
                fail(f"{where}.rip", f"expected R_seam, R_kvm or host:N, got {value!r}")
            if key in ("claimed", "bitmap") and not (
                (value is None and key == "bitmap")
                or (isinstance(value, list) and all(_is_int(v) and 0 <= v <= 15 for v in value))
            ):
                fail(f"{where}.{key}", f"expected a list of vectors 0..15, got {value!r}")
            if key == "arrivals" and not (isinstance(value, list) and all(_is_int(v) and v >= 1 for v in value)):
                fail(f"{where}.arrivals", f"expected a list of arrival numbers (1 is the first NMI), got {value!r}")
            if key == "cycle" and (not _is_int(value) or value < 0):
                fail(f"{where}.cycle", f"expected an integer >= 0, got {value!r}")


def _keyed_mapping(value, where: str, allowed, what: str, fail) -> dict:
    """A mapping whose keys must come from ``allowed`` (an unknown one is named, with the choices)."""
    if not isinstance(value, dict):
        fail(where, f"expected a mapping with keys among {', '.join(allowed)}, got {_kind(value)}")
    for key in value:
        if key not in allowed:
            fail(f"{where}.{key}", f"unknown {what}; expected one of {', '.join(allowed)}")
    return value


def _unchecked_config(raw: dict) -> Config:
    config = object.__new__(Config)
    for key in CONFIG_KEYS:
        object.__setattr__(config, key, raw.get(key, Config.__dataclass_fields__[key].default))
    return config


def _is_host_rip(value) -> bool:
    return isinstance(value, str) and value.startswith("host:") and value[5:].isdigit()


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _kind(value) -> str:
    return "nothing" if value is None else type(value).__name__
