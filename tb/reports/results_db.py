"""What regressions leave behind, accumulated: functional coverage and test status per design, and
the history of every regression.

A design is the RTL (the generated Verilog's hash) and the golden model (a hash of ``py_model/``'s
sources): the store for it is ``build/results/<rtl>-<model>/``. Each regression merges its bin hits
into ``coverage.json`` and its tests' status into ``tests.json`` there; a changed design starts a new
store (the regression says so; the old one stays). ``build/results/history.jsonl`` gets one line per
regression, whatever the design. ``make coverage`` and ``make plan`` read the store of the current
design; the coverage figure is ``tb.reports.coverage.figure`` everywhere.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from py_model.atomic import write_output
from py_model.command import CommandError
from tb import ROOT

STORE = ROOT / "build" / "results"
HISTORY = STORE / "history.jsonl"


def model_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted((ROOT / "py_model").glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:12]


def design_key() -> str:
    from rtl.generate import generate

    _, rtl = generate()
    return f"{rtl}-{model_hash()}"


def folder(key: str | None = None) -> Path:
    return STORE / (key or design_key())


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def _read(path: Path, default):
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return default
    except ValueError as err:
        raise CommandError(f"{_shown(path)} is damaged ({err}); make coverage RESET=1 starts it again") from None


def _bin_key(bin_) -> str:
    return json.dumps(list(bin_) if isinstance(bin_, tuple) else bin_)


def current_hits() -> dict[str, dict[str, int]]:
    """This process's cocotb-coverage hits per cover item and bin (every bin, hit or not)."""
    from cocotb_coverage.coverage import coverage_db

    from tb.reports.coverage import ITEMS

    return {name: {_bin_key(b): int(n) for b, n in coverage_db[name].detailed_coverage.items()} for name in ITEMS}


def merge(hits: dict[str, dict[str, int]], statuses: dict[str, bool], summary: dict) -> tuple[dict, str | None]:
    """Add a regression's ``hits`` and test ``statuses`` to the current design's store and its
    ``summary`` to the history. Returns (merged hits, a line saying a new store was started, or None)."""
    key = design_key()
    here = folder(key)
    started = None
    if not here.exists():
        others = sorted((p for p in STORE.glob("*-*") if p.is_dir()), key=lambda p: p.stat().st_mtime)
        started = (f"coverage: a new database for this design (rtl {key.split('-')[0]}, model {key.split('-')[1]})"
                   + (f"; the previous design's stays in {_shown(others[-1])}" if others else ""))
        here.mkdir(parents=True)
    merged = _read(here / "coverage.json", {})
    for item, bins in hits.items():
        mine = merged.setdefault(item, {})
        for b, n in bins.items():
            mine[b] = mine.get(b, 0) + n
    write_output(here / "coverage.json", json.dumps(merged, indent=1))
    tests = _read(here / "tests.json", {})
    for test, ok in statuses.items():
        tests[test] = {"ok": ok, "when": summary.get("when")}
    write_output(here / "tests.json", json.dumps(tests, indent=1))
    HISTORY.parent.mkdir(parents=True, exist_ok=True)
    with HISTORY.open("a") as f:  # one line appended whole per regression
        f.write(json.dumps({**summary, "design": key}) + "\n")
    return merged, started


def merged_hits(key: str | None = None) -> dict:
    return _read(folder(key) / "coverage.json", {})


def test_status(key: str | None = None) -> dict:
    return _read(folder(key) / "tests.json", {})


def history() -> list[dict]:
    if not HISTORY.exists():
        return []
    lines = []
    for number, line in enumerate(HISTORY.read_text().splitlines(), 1):
        try:
            lines.append(json.loads(line))
        except ValueError:
            raise CommandError(f"{_shown(HISTORY)} line {number} is damaged") from None
    return lines


def reset(key: str | None = None) -> Path:
    here = folder(key)
    shutil.rmtree(here, ignore_errors=True)
    return here
