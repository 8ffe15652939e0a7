"""The regression dashboard: one static HTML page a verification lead reads each morning.

``build/regress/dashboard.html``, written after every regression and by ``make report`` from what is
on disk: the last regression's jobs (pass/fail by test and seed, the reproduce command, links to the
failing runs' timelines and logs), this design's functional coverage merged over its regressions
(a heat map of the crosses), code coverage (or that it was not measured), the last ``make formal`` and
``make mcy`` results, and the history of the regressions as trend plots. Templates with jinja2
(autoescaped), plots as plain SVG (``tb/reports/plots.py``); no script, nothing fetched from elsewhere.
"""

from __future__ import annotations

import json
from pathlib import Path

from jinja2 import Environment, select_autoescape

from py_model.atomic import write_output
from tb import ROOT
from tb.reports import coverage, results_db
from tb.reports.plots import line_chart

PAGE = ROOT / "build" / "regress" / "dashboard.html"

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
td, th { border: 1px solid #bbb; padding: 3px 8px; font-size: 13px; text-align: left; vertical-align: top; }
.PASS { background: #d9f2d9; } .FAIL { background: #f8d0d0; font-weight: bold; }
.bin0 { background: #f8d0d0; } .bin1 { background: #fff1c4; } .bin2 { background: #d9f2d9; }
.note { color: #666; font-size: 13px; }
code { font-size: 12px; }
</style></head><body>
<h1>{{ title }}</h1>
<p>{{ latest.when or "no regression yet" }}: {{ latest.jobs or 0 }} jobs, {{ latest.runs or 0 }} scenario runs,
<span class="{{ 'FAIL' if latest.failed else 'PASS' }}" id="verdict">{{ latest.failed or 0 }} failed</span>,
{{ latest.wall_seconds or 0 }} s wall. Design <code>{{ design }}</code>.</p>

<h2 id="jobs">Jobs of the last regression</h2>
<table><tr><th>test</th><th>seed</th><th>result</th><th>first failure</th><th>reproduce</th>
<th>pictures, log</th></tr>
{% for job in jobs %}<tr class="{{ 'PASS' if job.ok else 'FAIL' }}"
{%- if not job.ok %} id="failing-{{ job.test }}-{{ job.seed }}"{% endif %}>
<td>{{ job.test }}</td><td>{{ job.seed }}</td><td>{{ 'PASS' if job.ok else 'FAIL' }}</td>
<td>{{ job.message }}</td><td><code>{{ job.reproduce }}</code></td>
<td>{% for link in job.links %}<a href="{{ link.href }}">{{ link.text }}</a> {% endfor %}</td></tr>
{% endfor %}</table>

<h2>Functional coverage, merged over this design's regressions</h2>
<p><b id="coverage-figure">{{ figure }}</b> <span class="note">(bins hit over the bins of every cover item; excluded
bins, each with its reason, are listed by <code>make coverage</code>)</span></p>
{% for item in heat %}<h3>{{ item.name }} ({{ item.hit }}/{{ item.bins }})</h3>
<table><tr><th>bin</th><th>hits</th></tr>
{% for b in item.rows %}<tr class="bin{{ b.level }}"><td>{{ b.name }}</td><td>{{ b.hits }}</td></tr>{% endfor %}
</table>{% endfor %}

<h2>Code coverage</h2>
<p class="note">{{ code_coverage }}</p>

<h2>Formal and mutation results</h2>
<p>{{ formal }}</p>
<p>{{ mcy }}</p>

<h2>History</h2>
{% for plot in plots %}<div>{{ plot | safe }}</div>{% endfor %}
</body></html>
"""


def _jobs(regress_dir: Path, latest: dict) -> list[dict]:
    stream = regress_dir / "results.jsonl"
    pictures = {(f["test"], f["seed"]): f.get("timelines", []) for f in latest.get("failures", [])}
    jobs = []
    if stream.exists():
        for line in stream.read_text().splitlines():
            try:
                job = json.loads(line)
            except ValueError:
                continue  # a line being written; the next rebuild reads it whole
            links = [{"href": _href(p, regress_dir), "text": f"timeline {i + 1}"}
                     for i, p in enumerate(pictures.get((job["test"], job["seed"]), []))]
            if job.get("log"):
                links.append({"href": _href(job["log"], regress_dir), "text": "log"})
            jobs.append({**job, "links": links})
    return sorted(jobs, key=lambda j: (j["ok"], j["test"], j["seed"]))


def _href(path: str, base: Path) -> str:
    target = (ROOT / path) if not Path(path).is_absolute() else Path(path)
    try:
        return str(target.resolve().relative_to(base.resolve()))
    except ValueError:
        return target.resolve().as_uri()


def _heat(merged: dict) -> list[dict]:
    items = []
    summary = coverage.summary(merged)
    for name in coverage.ITEMS:
        rows = []
        for b, n in sorted(merged.get(name, {}).items(), key=lambda kv: kv[0]):
            rows.append({"name": " x ".join(map(str, json.loads(b))) if b.startswith("[") else json.loads(b),
                         "hits": n, "level": 0 if n == 0 else 1 if n < 5 else 2})
        items.append({"name": name, "hit": summary[name]["hit"], "bins": summary[name]["bins"], "rows": rows})
    return items


def _code(latest: dict) -> str:
    code = latest.get("code_coverage")
    if not code:
        return "Not measured in the last regression (make regress COVERAGE=1 measures it)."
    figures = ", ".join(f"{k} {v['hit']}/{v['points']} ({v['percent']}%)" for k, v in sorted(code["figures"].items()))
    return (f"{figures}, merged over {code.get('processes', 0)} simulator processes; "
            f"{len(code.get('unreached', []))} line points never reached (build/regress/code_coverage/unreached.txt)")


def _formal() -> str:
    path = ROOT / "build" / "formal" / "summary.json"
    if not path.exists():
        return "make formal: not run on this machine yet."
    data = json.loads(path.read_text())
    proved = sum(r["status"] == "PASS" for r in data["results"] if r["method"] != "cover")
    covers = sum(r["status"] == "REACHED" for r in data["results"])
    return (f"make formal ({data['when']}): {proved} properties proved unbounded, {covers} covers reached"
            + (f"; FAILED: {', '.join(data['failed'])}" if data["failed"] else ""))


def _mcy() -> str:
    summaries = sorted((ROOT / "build" / "mcy").glob("*/summary.json"), key=lambda p: p.stat().st_mtime)
    if not summaries:
        return "make mcy: not run on this machine yet."
    s = json.loads(summaries[-1].read_text())
    k = s["kill_ratio"]
    return (f"make mcy ({summaries[-1].parent.name}): {s['mutants']} mutants, {s['equivalent']} equivalent, "
            f"{k['killed']}/{k['of']} = {100 * k['ratio']:.1f}% killed, {s['survived']} survived, "
            f"{s.get('undecided', 0)} undecided, {s['explained']} with a stated reason")


def _plots(history: list[dict]) -> list[str]:
    if not history:
        return []
    index = list(range(1, len(history) + 1))
    passed = [(i, 100.0 * (h["jobs"] - h.get("failed", 0)) / max(h["jobs"], 1)) for i, h in zip(index, history,
                                                                                                 strict=True)]
    cov = [(i, h.get("coverage_merged", h.get("coverage", {})).get("percent", 0)) for i, h in zip(index, history,
                                                                                                   strict=True)]
    rate = [(i, 60.0 * h["jobs"] / max(h.get("wall_seconds", 0) or 1, 1e-9)) for i, h in zip(index, history,
                                                                                             strict=True)]
    n = len(history)
    return [line_chart(f"jobs passed (%) and functional coverage (%, merged) over {n} regressions",
                       {"passed": passed, "coverage": cov}, "regression", "percent"),
            line_chart(f"throughput over {n} regressions", {"jobs/min": rate}, "regression", "jobs per minute")]


def build(regress_dir: Path | None = None) -> Path:
    """Write the dashboard from what is on disk; returns its path."""
    regress_dir = regress_dir or PAGE.parent
    latest_path = regress_dir / "latest.json"
    latest = json.loads(latest_path.read_text()) if latest_path.exists() else {}
    key = results_db.design_key()
    history = [h for h in results_db.history() if h.get("design") == key] or results_db.history()
    page = Environment(autoescape=select_autoescape(default=True)).from_string(TEMPLATE).render(
        title="tdx-nmi-dv regression dashboard", latest=latest, design=key, jobs=_jobs(regress_dir, latest),
        figure=coverage.figure(coverage.summary(results_db.merged_hits(key))), heat=_heat(results_db.merged_hits(key)),
        code_coverage=_code(latest),
        formal=_formal(), mcy=_mcy(), plots=_plots(history))
    out = regress_dir / "dashboard.html"
    write_output(out, page)
    return out
