"""Plain-SVG timelines: mode, blocking, latch, NMI arrivals, the hardware's events, handler passes.

``render_compare`` draws the reference's run above the RTL's (or the firmware's) on one cycle axis,
with the first difference marked: the picture of a failure; every run gets one, in its run's folder.
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


EVENT_KINDS = ("seamcall", "vmentry", "step", "absorb", "unstep", "self_nmi", "exit", "seamret", "deliver", "iret", "drop")
EVENT_COLOURS = {"seamcall": "#333", "vmentry": "#333", "exit": "#7a3", "seamret": "#37a", "deliver": "#c60",
                 "iret": "#888", "step": "#a3a", "absorb": "#a3a", "unstep": "#a3a", "self_nmi": "#a3a", "drop": "#c00"}
LEGEND = (("SEAMCALL / VM entry", "#333"), ("VM exit", "#7a3"), ("SEAMRET", "#37a"), ("delivery", "#c60"),
          ("IRET", "#888"), ("zero-step (B6)", "#a3a"), ("dropped NMI", "#c00"))


def _lane(out: list, label: str, outcome: dict, top: int, x, scale: float, end: int) -> int:
    """One run's lane (mode band, blocking, latch, arrivals, events, passes) from ``top``; returns its bottom."""
    trace, passes = outcome.get("trace", []), outcome.get("passes", [])
    rows = {"mode": top + 22, "blocked": top + 50, "latch": top + 72, "NMI": top + 96, "events": top + 122}
    out.append(f'<text x="8" y="{top + 6}" font-size="13" font-weight="bold">{escape(label)}</text>')
    for name, y in rows.items():
        out.append(f'<text x="8" y="{y + 4}">{name}</text>')
    mode, blocked, latch, _ = signals(trace, end)
    for (c0, m), (c1, _) in zip(mode, mode[1:] + [(end, None)], strict=True):
        out.append(f'<rect x="{x(c0):.1f}" y="{rows["mode"] - 9}" width="{max(c1 - c0, 0) * scale:.1f}" height="18" '
                   f'fill="{MODE_COLOURS[m]}" stroke="#999"><title>{m} {c0}..{c1 - 1}</title></rect>')
    for name, wave in (("blocked", blocked), ("latch", latch)):
        y, points = rows[name], []
        for (c0, v), (c1, _) in zip(wave, wave[1:] + [(end, None)], strict=True):
            points += [f"{x(c0):.1f},{y - 8 * v}", f"{x(c1):.1f},{y - 8 * v}"]
        out.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="#333" stroke-width="1.5"/>')
    for t in trace:
        cx = x(t["cycle"])
        if t["kind"] == "nmi":
            out.append(f'<line x1="{cx:.1f}" y1="{rows["NMI"] - 9}" x2="{cx:.1f}" y2="{rows["NMI"] + 5}" stroke="#c00" '
                       f'stroke-width="2"><title>@{t["cycle"]} nmi v{t.get("vector")}</title></line>')
        elif t["kind"] in EVENT_KINDS:
            detail = " ".join(f"{k}={v}" for k, v in t.items() if k not in ("cycle", "kind"))
            out.append(f'<rect x="{cx - 2:.1f}" y="{rows["events"] - 8}" width="4" height="12" '
                       f'fill="{EVENT_COLOURS.get(t["kind"], "#333")}"><title>@{t["cycle"]} {t["kind"]} {escape(detail)}'
                       f'</title></rect>')
    y = rows["events"] + 26
    for p in passes:
        end_cycle = p.get("end") if p.get("end") is not None else p["cycle"]
        bar = max((end_cycle - p["cycle"] + 1) * scale, 6)
        label = f'{p["via"]}@{p["rip"]} {p["result"]} claimed {p["claimed"]}'
        out.append(f'<rect x="{x(p["cycle"]):.1f}" y="{y - 9}" width="{bar:.1f}" height="14" fill="#9fd39b" '
                   f'stroke="#555"/><text x="{x(p["cycle"]) + bar + 4:.1f}" y="{y + 2}">{escape(label)}</text>')
        y += 18
    return y + 6


def render_compare(title: str, reference: dict, actual: dict, actual_label: str = "RTL",
                   first_cycle: int | None = None, note: str = "") -> str:
    """The reference's run above ``actual`` (the RTL's, or the firmware's), on one cycle axis; a red
    line at ``first_cycle``, the first difference."""
    cycles = [t["cycle"] for o in (reference, actual) for t in o.get("trace", [])]
    cycles += [(p.get("end") or p["cycle"]) for o in (reference, actual) for p in o.get("passes", [])]
    end = max(cycles + [first_cycle or 0, 10]) + 4
    scale = max(3.0, min(14.0, 1100 / end))

    def x(c):
        return 120 + c * scale

    width = x(end) + 380
    out = [f'<text x="8" y="18" font-size="13">{escape(title)}</text>']
    if note:
        out.append(f'<text x="8" y="34" fill="#c00">{escape(note)}</text>')
    axis = 50
    step = 5 if end <= 60 else 10 if end <= 150 else 50 if end <= 800 else 100
    out.append(f'<line x1="{x(0):.1f}" y1="{axis}" x2="{x(end):.1f}" y2="{axis}" stroke="#333"/>'
               f'<text x="8" y="{axis + 4}">cycle</text>')
    for c in range(0, end + 1, step):
        out.append(f'<line x1="{x(c):.1f}" y1="{axis - 4}" x2="{x(c):.1f}" y2="{axis + 4}" stroke="#333"/>'
                   f'<text x="{x(c) - 6:.1f}" y="{axis - 7}" font-size="9">{c}</text>')
    bottom = _lane(out, "reference", reference, axis + 18, x, scale, end)
    bottom = _lane(out, actual_label, actual, bottom + 10, x, scale, end)
    if first_cycle is not None:
        fx = x(first_cycle)
        out.append(f'<line x1="{fx:.1f}" y1="{axis}" x2="{fx:.1f}" y2="{bottom}" stroke="#c00" stroke-width="2" '
                   f'stroke-dasharray="4,3"/><text x="{fx + 4:.1f}" y="{axis + 14}" fill="#c00">first difference '
                   f'@{first_cycle}</text>')
    legend_x = 120
    for name, colour in LEGEND:
        out.append(f'<rect x="{legend_x}" y="{bottom + 4}" width="4" height="12" fill="{colour}"/>'
                   f'<text x="{legend_x + 8}" y="{bottom + 14}">{name}</text>')
        legend_x += 14 + 7 * len(name)
    out.append(f'<text x="8" y="{bottom + 14}">events</text>')
    height = bottom + 26
    return "\n".join([f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height}" '
                       'font-family="monospace" font-size="11">', *out, "</svg>"])


def safe_name(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name).strip("_")


def first_trace_difference(reference: list[dict], actual: list[dict]) -> int | None:
    """The cycle of the first transaction where two traces differ (None: equal)."""
    for a, b in zip(reference, actual, strict=False):
        if a != b:
            return min(a["cycle"], b["cycle"])
    if len(reference) != len(actual):
        longer = reference if len(reference) > len(actual) else actual
        return longer[min(len(reference), len(actual))]["cycle"]
    return None


def write_run_timelines(report: dict, scenarios: dict, folder: Path, actual_label: str = "RTL") -> dict[int, Path]:
    """One SVG per run of ``report`` in ``folder`` (``NN-<scenario>.svg``): the reference's run (the
    model alone on the scenario, from ``scenarios`` by name) above what the run observed. Returns
    {row index: path}; a run whose scenario is not known (or that has nothing to draw) gets none."""
    from py_model import run_model

    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for index, row in enumerate(report.get("runs", []), 1):
        scenario = scenarios.get(row["scenario"])
        outcome = row.get("outcome") or {}
        actual = {"trace": row.get("rtl_trace", outcome.get("trace", [])), "passes": outcome.get("passes", [])}
        if scenario is None or not (actual["trace"] or actual["passes"]):
            continue
        try:
            reference = run_model(scenario).to_json()
        except Exception as err:  # noqa: BLE001 - the model could not run it: the picture says so
            reference, note = {"trace": [], "passes": []}, f"the model alone could not run it: {err}"
        else:
            note = ""
        where = row.get("where") or {}
        first = where.get("cycle")
        if first is None and not row["ok"]:
            first = first_trace_difference(reference["trace"], actual["trace"])
        if not row["ok"]:
            note = note or (row.get("failure") or "")[:200]
        title = f"{row['scenario']} ({'PASS' if row['ok'] else 'FAIL'})"
        path = folder / f"{index:03d}-{safe_name(row['scenario'])}.svg"
        write_output(path, render_compare(title, reference, actual, actual_label, first if not row["ok"] else None,
                                          note))
        out[index] = path
    return out
