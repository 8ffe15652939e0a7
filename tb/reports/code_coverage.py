"""Code coverage of the RTL: Verilator's line and toggle coverage, merged over runs, as figures, an lcov
file mapped back to the Amaranth source, and HTML (``genhtml``, Debian's lcov).

A run of the coverage build (``make sim ... COVERAGE=1``, ``make regress COVERAGE=1``) leaves
Verilator's ``coverage.dat``: one counter per point, keyed by a record of fields (``t`` type, ``page``
``v_line/<module>`` or ``v_toggle/<module>``, ``f`` file, ``l`` line, ``h`` hierarchy, ``o`` what it
counts). Merging sums the counters point by point (what ``verilator_coverage --write`` does). The
Verilog of that build keeps Amaranth's ``(* src = "rtl/x.py:N" *)`` attributes, so each covered
Verilog line is attributed to the Amaranth line that made it (the nearest attribute above it); the
lcov file names ``rtl/*.py`` lines, which is what a reader can act on.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

from py_model.atomic import write_output
from tb import ROOT

_RECORD = re.compile(r"^C '(.*)' (\d+)$")
_SRC = re.compile(r'\(\* src = "([^"]+)" \*\)')


def parse(path: Path) -> dict[str, int]:
    """A ``coverage.dat``: {point key: count}."""
    points = {}
    for line in Path(path).read_text(errors="replace").splitlines():
        found = _RECORD.match(line)
        if found:
            points[found.group(1)] = points.get(found.group(1), 0) + int(found.group(2))
    return points


def fields(key: str) -> dict[str, str]:
    out = {}
    for part in key.split("\x01"):
        if "\x02" in part:
            name, value = part.split("\x02", 1)
            out[name] = value
    return out


def merge(paths) -> dict[str, int]:
    merged: dict[str, int] = defaultdict(int)
    for path in paths:
        for key, n in parse(path).items():
            merged[key] += n
    return dict(merged)


def write_dat(points: dict[str, int], path: Path) -> None:
    write_output(path, "# SystemC::Coverage-3\n" + "".join(f"C '{k}' {n}\n" for k, n in points.items()))


def kind(f: dict) -> str:
    page = f.get("page", "")
    return "toggle" if "toggle" in page else "line" if "line" in page else page.split("/")[0] or "other"


def figures(points: dict[str, int]) -> dict[str, dict]:
    """{"line": {"hit", "points", "percent"}, "toggle": {...}}: points with a non-zero count."""
    out = {}
    for key, n in points.items():
        entry = out.setdefault(kind(fields(key)), {"hit": 0, "points": 0})
        entry["points"] += 1
        entry["hit"] += n > 0
    for entry in out.values():
        entry["percent"] = round(100.0 * entry["hit"] / entry["points"], 1) if entry["points"] else 0.0
    return out


def figure_text(points: dict[str, int]) -> str:
    f = figures(points)
    return ", ".join(f"{name} {v['hit']}/{v['points']} ({v['percent']}%)" for name, v in sorted(f.items()))


def amaranth_lines(verilog: Path) -> dict[int, str]:
    """{Verilog line: "rtl/x.py:N"} from the nearest source attribute at or above each line."""
    out, current = {}, None
    for number, line in enumerate(Path(verilog).read_text().splitlines(), 1):
        found = _SRC.search(line)
        if found:
            current = found.group(1).split("|")[0].strip()
        if current:
            out[number] = current
    return out


def lcov(points: dict[str, int]) -> str:
    """The line points in lcov's tracefile format, attributed to the Amaranth source lines (a line's
    count: the most any of its Verilog points was hit; 0 if none was). The Verilog each point names
    (its ``f`` field) is read for its source attributes."""
    maps: dict[str, dict[int, str]] = {}
    per_source: dict[str, dict[int, int]] = defaultdict(dict)
    for key, n in points.items():
        f = fields(key)
        if kind(f) != "line" or "l" not in f or not f.get("f"):
            continue
        if f["f"] not in maps:
            maps[f["f"]] = amaranth_lines(Path(f["f"])) if Path(f["f"]).exists() else {}
        where = maps[f["f"]].get(int(f["l"]))
        if not where or ":" not in where:
            continue
        source, line = where.rsplit(":", 1)
        line_no = int(line.split(".")[0]) if line.split(".")[0].isdigit() else None
        if line_no is None:
            continue
        rel = str(Path(source).resolve().relative_to(ROOT)) if Path(source).is_absolute() and \
            Path(source).resolve().is_relative_to(ROOT) else source
        per_source[rel][line_no] = max(per_source[rel].get(line_no, 0), n)
    records = []
    for source, lines in sorted(per_source.items()):
        body = "".join(f"DA:{line},{n}\n" for line, n in sorted(lines.items()))
        hit = sum(n > 0 for n in lines.values())
        records.append(f"TN:\nSF:{ROOT / source}\n{body}LH:{hit}\nLF:{len(lines)}\nend_of_record\n")
    return "".join(records)


def unreached(points: dict[str, int]) -> list[str]:
    """Every line point no run reached: the Verilog line, its hierarchy and the Amaranth line that made
    it (sorted), for the report to explain."""
    maps: dict[str, dict[int, str]] = {}
    out = set()
    for key, n in points.items():
        f = fields(key)
        if n or kind(f) != "line" or "l" not in f:
            continue
        if f.get("f") and f["f"] not in maps:
            maps[f["f"]] = amaranth_lines(Path(f["f"])) if Path(f["f"]).exists() else {}
        source = maps.get(f.get("f"), {}).get(int(f["l"]), "?")
        out.add(f"{Path(f.get('f', '?')).name}:{f['l']} {f.get('h', '')} ({source})")
    return sorted(out)


def report(points: dict[str, int], folder: Path) -> dict:
    """Write ``coverage.dat`` (merged), ``coverage.info`` (lcov, Amaranth lines) and, with genhtml,
    ``html/``; return the figures, the files and what was not written and why."""
    folder.mkdir(parents=True, exist_ok=True)
    write_dat(points, folder / "coverage.dat")
    info = folder / "coverage.info"
    write_output(info, lcov(points))
    out = {"figures": figures(points), "dat": str(folder / "coverage.dat"), "lcov": str(info),
           "unreached": unreached(points)}
    genhtml = shutil.which("genhtml")
    if genhtml is None:
        out["html"] = None
        out["html_note"] = "genhtml not found (Debian: lcov): no HTML report"
    else:
        proc = subprocess.run([genhtml, "-q", "-o", str(folder / "html"), str(info)], capture_output=True, text=True,
                              timeout=300)
        out["html"] = str(folder / "html" / "index.html") if proc.returncode == 0 else None
        if proc.returncode:
            out["html_note"] = f"genhtml failed: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}"
    return out
