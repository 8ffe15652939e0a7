"""Functional coverage (cocotb-coverage), sampled from run records, merged across tests and seeds.

A run record is what every bench reports for one run (``tb/uvm/tests.py``): the configuration,
and the outcome with its passes and transaction trace. Sampling from records, not from live pins,
keeps coverage independent of the simulator and lets one process merge a whole regression.
Bins that cannot be hit are excluded with the reason, in ``EXCLUSIONS``.
"""

from __future__ import annotations

from cocotb_coverage.coverage import CoverCross, CoverPoint, coverage_db

from tb.reports.timeline_svg import signals

ARRIVAL_PHASES = ["host", "handler", "seam_root", "guest"]
VIAS = ["idt", "fred", "kvm"]
RESULTS = ["handled", "swallowed", "unknown", "external", "latched"]
CORNERS = ["nmi_at_seamret_edge", "nmi_at_iret_edge", "nmi_at_vmentry_edge", "back_to_back_arrivals",
           "drop_in_host", "drop_in_seam_root", "exit_for_several_arrivals", "delivery_for_several_arrivals"]
TD_KINDS = ["none", "tsx", "waitpkg"]
HS_RESULTS = ["clean", "differs", "refused"]
# B6 (td_exit_stepping.c): what started stepping, what it absorbed, what ended it.
ZERO_STEP = ["started_by_nmi", "started_by_interrupt", "absorbed_nmi", "absorbed_interrupt",
             "burst_merged_between_steps", "ended_at_mtf", "ended_at_nmi_exit", "ended_at_interrupt_exit",
             "ended_at_td_exit"]

# (cover item, bin with None as a wildcard, reason): each removed from the bins to reach.
EXCLUSIONS = [
    ("top.nmi.arrival.cross", ("seam_root", 0, None, None),
     "NMIs are always blocked in SEAM root (B1; formal: blocked_in_seam)"),
    ("top.nmi.arrival.cross", ("guest", 0, None, None),
     "NMIs are always blocked in SEAM non-root (B1; formal: blocked_in_seam)"),
    ("top.nmi.arrival.cross", ("host", 1, "legacy", None),
     "outside a handler the host is blocked only between SEAMRET and KVM's pass, and the legacy SEAMRET unblocks"),
    ("top.nmi.arrival.cross", ("host", 1, None, "noinstr"),
     "outside a handler the host is blocked only between SEAMRET and KVM's pass, a window only kvm: late has"),
    ("top.nmi.arrival.cross", ("handler", 0, "fixed", None),
     "with the fixed module no pass runs unblocked: KVM's pass starts blocked (B5), and nothing can be "
     "delivered into a pass to IRET early since faults are not taken inside NMI handlers"),
    ("top.pass.cross", ("latched", "fred"), "the FRED entry has no nmi_state guard (E2): it nests instead"),
    ("top.pass.cross", ("latched", "kvm"), "KVM's manual pass is started by KVM, never by a delivery into a running pass"),
    ("top.host_state.cross", ("merged", "tsx", "clean"), "the merged code refuses a TD that asks for TSX"),
    ("top.host_state.cross", ("merged", "tsx", "differs"), "the merged code refuses a TD that asks for TSX"),
    ("top.host_state.cross", ("merged", "waitpkg", "clean"), "the merged code refuses a TD that asks for WAITPKG"),
    ("top.host_state.cross", ("merged", "waitpkg", "differs"), "the merged code refuses a TD that asks for WAITPKG"),
    ("top.host_state.cross", ("merged", "none", "refused"), "only TSX or WAITPKG TDs are refused"),
    ("top.host_state.cross", ("first_posting", None, "refused"), "the first posting refused nothing"),
]


def _ignored(item):
    return [bin_ for name, bin_, _ in EXCLUSIONS if name == item]


@CoverPoint("top.nmi.arrival.phase", xf=lambda a: a["phase"], bins=ARRIVAL_PHASES)
@CoverPoint("top.nmi.arrival.blocked", xf=lambda a: a["blocked"], bins=[0, 1])
@CoverPoint("top.nmi.arrival.module", xf=lambda a: a["module"], bins=["legacy", "fixed"])
@CoverPoint("top.nmi.arrival.kvm", xf=lambda a: a["kvm"], bins=["noinstr", "late"])
@CoverCross("top.nmi.arrival.cross", items=["top.nmi.arrival.phase", "top.nmi.arrival.blocked",
                                            "top.nmi.arrival.module", "top.nmi.arrival.kvm"],
            ign_bins=_ignored("top.nmi.arrival.cross"))
def _sample_arrival(a):
    pass


@CoverPoint("top.pass.result", xf=lambda p: p["result"], bins=RESULTS)
@CoverPoint("top.pass.via", xf=lambda p: p["via"], bins=VIAS)
@CoverCross("top.pass.cross", items=["top.pass.result", "top.pass.via"], ign_bins=_ignored("top.pass.cross"))
def _sample_pass(p):
    pass


@CoverPoint("top.corner", xf=lambda c: c, bins=CORNERS)
def _sample_corner(c):
    pass


@CoverPoint("top.host_state.preset", xf=lambda h: h[0], bins=["merged", "first_posting"])
@CoverPoint("top.host_state.td", xf=lambda h: h[1], bins=TD_KINDS)
@CoverPoint("top.host_state.result", xf=lambda h: h[2], bins=HS_RESULTS)
@CoverCross("top.host_state.cross", items=["top.host_state.preset", "top.host_state.td", "top.host_state.result"],
            ign_bins=_ignored("top.host_state.cross"))
def _sample_host_state(h):
    pass


@CoverPoint("top.zero_step", xf=lambda z: z, bins=ZERO_STEP)
def _sample_zero_step(z):
    pass


def _sample_stepping(trace) -> None:
    stepping = False
    for t in trace:
        kind = t["kind"]
        if kind == "step":
            stepping = True
            _sample_zero_step("started_by_interrupt" if t.get("intr") else "started_by_nmi")
        elif kind == "absorb":
            _sample_zero_step("absorbed_interrupt" if t.get("intr") else "absorbed_nmi")
        elif kind == "drop" and stepping:
            _sample_zero_step("burst_merged_between_steps")
        elif kind == "unstep":
            stepping = False
            if t.get("mtf"):
                _sample_zero_step("ended_at_mtf")
                continue
            reason = next((e.get("reason") for e in trace if e["kind"] == "exit" and e["cycle"] == t["cycle"]), None)
            _sample_zero_step({0: "ended_at_nmi_exit", 1: "ended_at_interrupt_exit"}.get(reason, "ended_at_td_exit"))


def _value_at(wave, cycle):
    value = wave[0][1]
    for start, v in wave:
        if start > cycle:
            break
        value = v
    return value


def sample_run(record: dict) -> None:
    """Sample one run record (``{"config": ..., "outcome": ...}``) into the coverage database."""
    cfg, outcome = record["config"], record["outcome"]
    trace, passes = outcome["trace"], outcome["passes"]
    mode, blocked, _, _ = signals(trace, 0)
    edges = {}
    for t in trace:
        edges.setdefault(t["cycle"], set()).add(t["kind"])
    nmi_cycles = [t["cycle"] for t in trace if t["kind"] == "nmi"]
    for c in nmi_cycles:
        phase = _value_at(mode, c)
        if phase == "host" and any(p["cycle"] <= c <= (p["end"] if p["end"] is not None else c) for p in passes):
            phase = "handler"
        _sample_arrival({"phase": phase, "blocked": _value_at(blocked, c), "module": cfg["module"], "kvm": cfg["kvm"]})
        kinds = edges[c]
        if "seamret" in kinds:
            _sample_corner("nmi_at_seamret_edge")
        if "iret" in kinds:
            _sample_corner("nmi_at_iret_edge")
        if "vmentry" in kinds:
            _sample_corner("nmi_at_vmentry_edge")
        if c - 1 in nmi_cycles:
            _sample_corner("back_to_back_arrivals")
    for t in trace:
        if t["kind"] == "drop":
            _sample_corner("drop_in_host" if _value_at(mode, t["cycle"]) == "host" else "drop_in_seam_root")
    _sample_stepping(trace)
    for p in passes:
        _sample_pass(p)
        if len(p["arrivals"]) > 1:
            _sample_corner("exit_for_several_arrivals" if p["via"] == "kvm" else "delivery_for_several_arrivals")
    hs = outcome.get("host_state")
    if hs is not None:
        preset = record.get("host_state_config", {}).get("preset", "merged")
        td = record.get("host_state_config", {}).get("td", {})
        kind = "tsx" if td.get("tsx") else "waitpkg" if td.get("waitpkg") else "none"
        result = "refused" if hs["refused"] else "differs" if hs["differs"] else "clean"
        _sample_host_state((preset, kind, result))


ITEMS = ["top.nmi.arrival.cross", "top.pass.cross", "top.corner", "top.host_state.cross", "top.zero_step"]


def summary(hits: dict | None = None) -> dict:
    """Per cover item: bins, hit, holes; and the total over all of them. ``hits``: {item: {bin (JSON):
    count}} (the accumulated store, ``tb/reports/results_db.py``); default: this process's samples.
    The bins are the items' own (cocotb-coverage lists every bin, hit or not, minus ``EXCLUSIONS``)."""
    import json

    out, total, hit = {}, 0, 0
    for name in ITEMS:
        item = coverage_db[name]
        detail = item.detailed_coverage
        counts = {b: (hits.get(name, {}).get(json.dumps(list(b) if isinstance(b, tuple) else b), 0)
                      if hits is not None else n) for b, n in detail.items()}
        holes = [b for b, n in counts.items() if n < item.at_least]
        out[name] = {"bins": len(detail), "hit": len(detail) - len(holes),
                     "holes": [list(b) if isinstance(b, tuple) else b for b in holes]}
        total += len(detail)
        hit += len(detail) - len(holes)
    out["total"] = {"bins": total, "hit": hit, "percent": round(100.0 * hit / total, 1) if total else 0.0}
    return out


def figure(s: dict) -> str:
    """The coverage figure, defined once: bins hit over the bins of every cover item in ``ITEMS`` (the
    crosses, the corners, the zero-step bins), excluded bins left out. Every report prints this."""
    return f"{s['total']['hit']}/{s['total']['bins']} bins = {s['total']['percent']}%"


def report_text(s: dict) -> str:
    lines = [f"functional coverage: {figure(s)}"]
    for name in ITEMS:
        entry = s[name]
        lines.append(f"  {name:<24} {entry['hit']:>3}/{entry['bins']:<3}" +
                     ("" if not entry["holes"] else f"  holes: {entry['holes']}"))
    lines.append(f"  excluded bins ({len(EXCLUSIONS)}), each with its reason in tb/reports/coverage.py:")
    for name, bin_, reason in EXCLUSIONS:
        lines.append(f"    {name} {tuple('*' if b is None else b for b in bin_)}: {reason}")
    return "\n".join(lines)


def export(path, s: dict) -> None:
    """The summary as YAML (the same figure as the text; cocotb-coverage's own export counts the
    cover points under the crosses too, a second figure nobody asked for)."""
    import yaml

    from py_model.atomic import write_output

    write_output(path, yaml.safe_dump({"figure": figure(s), **s}, sort_keys=False))


def export_html(path, s: dict, title: str) -> None:
    """A static page of the same summary: the figure, each item's bins and holes."""
    from html import escape

    from py_model.atomic import write_output

    rows = "".join(f"<tr><td>{escape(name)}</td><td>{s[name]['hit']}/{s[name]['bins']}</td>"
                   f"<td>{escape(', '.join(map(str, s[name]['holes'])) or '-')}</td></tr>" for name in ITEMS)
    excluded = "".join(f"<li>{escape(name)} {escape(str(b))}: {escape(reason)}</li>" for name, b, reason in EXCLUSIONS)
    write_output(path, f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title></head>"
                       f"<body><h1>{escape(title)}</h1><p>functional coverage: <b>{escape(figure(s))}</b></p>"
                       f"<table border='1' cellpadding='4'><tr><th>cover item</th><th>bins hit</th><th>holes</th></tr>"
                       f"{rows}</table><h2>excluded bins</h2><ul>{excluded}</ul></body></html>\n")
