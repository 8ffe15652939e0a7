"""Plain-SVG timeline of one run: mode, blocking, latch, NMI arrivals, handler passes, inversions.

Input is the outcome JSON (``Outcome.to_json``); no simulator and no plotting library needed.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

from py_model.atomic import write_output

MODE_COLOURS = {"host": "#dfe9f7", "seam_root": "#f7e3c4", "guest": "#d6f0d0"}


def signals(trace: list[dict], end: int):
    """Piecewise-constant mode, blocking and latch from the transaction trace."""
    mode, blocked, latch = [(0, "host")], [(0, 0)], [(0, 0)]
    for t in trace:
        c, kind = t["cycle"] + 1, t["kind"]  # an edge's effect is visible from the next cycle
        if kind == "seamcall":
            mode.append((c, "seam_root"))
            blocked.append((c, 1))
        elif kind == "vmentry":
            mode.append((c, "guest"))
        elif kind == "exit":
            mode.append((c, "seam_root"))
            if t["reason"] == 0:
                latch.append((c, 0))
        elif kind == "seamret":
            mode.append((c, "host"))
            blocked.append((c, t["blocked"]))
        elif kind == "deliver":
            blocked.append((c, 1))
            latch.append((c, 0))
        elif kind == "iret":
            blocked.append((c, 0))
        elif kind in ("latch", "drop"):
            latch.append((c, 1))
    return mode, blocked, latch, end


def render(title: str, outcome: dict) -> str:
    trace, passes = outcome["trace"], outcome["passes"]
    # Show up to a little after the last thing that happened, not the whole settle wait.
    end = max([t["cycle"] + 2 for t in trace] + [(p.get("end") or p["cycle"]) + 2 for p in passes] + [10]) + 3
    scale = max(4.0, min(14.0, 1100 / end))
    def x(c):
        return 120 + c * scale
    width = x(end) + 420  # room for the pass labels
    rows = {"mode": 40, "blocked": 70, "latch": 95, "NMI": 125, "passes": 155}
    height = rows["passes"] + 22 * max(1, len(passes)) + 30
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height}" '
           'font-family="monospace" font-size="11">',
           f'<text x="8" y="18" font-size="13">{escape(title)}</text>']
    for name, y in rows.items():
        out.append(f'<text x="8" y="{y + 4}">{name}</text>')
    mode, blocked, latch, _ = signals(trace, end)
    for (c0, m), (c1, _) in zip(mode, mode[1:] + [(end, None)], strict=True):
        out.append(f'<rect x="{x(c0):.1f}" y="{rows["mode"] - 10}" width="{(c1 - c0) * scale:.1f}" height="20" '
                   f'fill="{MODE_COLOURS[m]}" stroke="#999"><title>{m} {c0}..{c1 - 1}</title></rect>')
        if (c1 - c0) * scale > 50:
            out.append(f'<text x="{x(c0) + 3:.1f}" y="{rows["mode"] + 4}">{m}</text>')
    for name, wave in (("blocked", blocked), ("latch", latch)):
        y, points = rows[name], []
        for (c0, v), (c1, _) in zip(wave, wave[1:] + [(end, None)], strict=True):
            level = y - 8 * v
            points += [f"{x(c0):.1f},{level}", f"{x(c1):.1f},{level}"]
        out.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="#333" stroke-width="1.5"/>')
    arrival = 0
    for t in trace:
        if t["kind"] == "nmi":
            arrival += 1
            cx, dy = x(t["cycle"]), 12 * (arrival % 2)  # stagger labels of neighbouring arrivals
            out.append(f'<line x1="{cx:.1f}" y1="{rows["NMI"] - 10}" x2="{cx:.1f}" y2="{rows["NMI"] + 6}" '
                       'stroke="#c00" stroke-width="2"/>'
                       f'<text x="{cx + 2:.1f}" y="{rows["NMI"] - 2 + dy}" fill="#c00">#{arrival} v{t["vector"]}</text>')
    for i, p in enumerate(passes):
        y = rows["passes"] + 22 * i
        colour = {"handled": "#9fd39b", "swallowed": "#c9c9c9", "unknown": "#f08080", "external": "#a7c7e7",
                  "latched": "#f2d16b"}.get(p["result"], "#ddd")
        label = f'{p["via"]}@{p["rip"]} {p["result"]} claimed {p["claimed"]} for #{",".join(map(str, p["arrivals"]))}'
        bar = max(((p.get("end") or p["cycle"]) - p["cycle"] + 1) * scale, 6)
        inverted = i in outcome.get("inverted", [])
        stroke = 'stroke="#c00" stroke-width="2.5"' if inverted else 'stroke="#555"'
        out.append(f'<rect x="{x(p["cycle"]):.1f}" y="{y - 9}" width="{bar:.1f}" height="16" fill="{colour}" {stroke}/>'
                   f'<text x="{x(p["cycle"]) + bar + 4:.1f}" y="{y + 3}">'
                   f'{escape(label)}{" (inversion)" if inverted else ""}</text>')
    if outcome.get("inversions"):
        out.append(f'<text x="8" y="{height - 10}" fill="#c00" font-size="13">INVERSION: a later NMI was handled '
                   f'before an earlier one ({outcome["inversions"]} pass(es))</text>')
    out.append("</svg>")
    return "\n".join(out)


def write_svgs(report: dict, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for run in report.get("runs", []):
        if not run.get("outcome"):
            continue  # a run that ended before it had an outcome has nothing to draw
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in run["scenario"]).strip("_")
        path = out_dir / f"{safe}.svg"
        write_output(path, render(run["scenario"], run["outcome"]))  # concurrent runs: whole files
        paths.append(path)
    return paths
