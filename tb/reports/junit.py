"""A regression's JUnit report, as a CI server reads it (Ant's shape, the attributes Jenkins wants).

One ``<testsuite>`` per catalog test, one ``<testcase>`` per scenario run (its row), named
``tdx_nmi.<test>.seed<N>`` / ``<scenario>``. A check that failed is a ``<failure type="check">``; a
job that crashed, timed out or could not be judged is an ``<error>`` with that type, on a testcase of
its own for the runs that never reported. Every message carries the reproduce command; the job's log
tail goes to ``<system-out>``. Text is cleaned of what XML 1.0 cannot hold (control characters, the
terminal's ANSI colour sequences). Built with ElementTree, so the escaping is the library's.
The shape is held to ``junit.xsd`` (beside this file) by ``tests/tb/flows/test_junit.py``.
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

SCHEMA = Path(__file__).with_name("junit.xsd")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
MESSAGE_CHARS = 400


def clean(text) -> str:
    """``text`` with ANSI escape sequences and the characters XML 1.0 forbids removed."""
    return _NOT_XML.sub("", _ANSI.sub("", str(text)))


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def junit_xml(results: list, started: datetime | None = None, hostname: str | None = None) -> str:
    """The report of ``results`` (``tb.flows.jobs.JobResult``), as text."""
    started = started or datetime.now()
    hostname = hostname or socket.gethostname()
    root = ET.Element("testsuites", name="regress")
    totals = {"tests": 0, "failures": 0, "errors": 0, "time": 0.0}
    by_test: dict[str, list] = {}
    for r in sorted(results, key=lambda r: (r.job.test, r.job.seed)):
        by_test.setdefault(r.job.test, []).append(r)
    for index, (test, mine) in enumerate(sorted(by_test.items())):
        suite = ET.SubElement(root, "testsuite", name=f"tdx_nmi.{test}", id=str(index), package="tdx_nmi",
                              timestamp=started.strftime("%Y-%m-%dT%H:%M:%S"), hostname=clean(hostname))
        counts = {"tests": 0, "failures": 0, "errors": 0, "time": 0.0}
        for r in mine:
            _cases(suite, r, counts)
        suite.set("tests", str(counts["tests"]))
        suite.set("failures", str(counts["failures"]))
        suite.set("errors", str(counts["errors"]))
        suite.set("skipped", "0")
        suite.set("time", _seconds(counts["time"]))
        for key in totals:
            totals[key] += counts[key]
    for key in ("tests", "failures", "errors"):
        root.set(key, str(totals[key]))
    root.set("time", _seconds(totals["time"]))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _cases(suite, r, counts: dict) -> None:
    """One job's testcases: a testcase per run row; an ``<error>`` testcase when the job itself failed
    (crash, timeout, an incomplete or unreadable report)."""
    rows = r.runs or []
    classname = f"tdx_nmi.{r.job.test}.seed{r.job.seed}"
    reproduce = r.job.command()
    # A job that failed with no failing run to show for it failed itself: never a silent pass.
    error_type = r.error_type or ("infrastructure" if not r.ok and all(row["ok"] for row in rows) else None)
    share = r.seconds / max(len(rows) + (1 if error_type or not rows else 0), 1)
    tail = clean("\n".join(r.output_tail)) if getattr(r, "output_tail", None) else ""
    for row in rows:
        case = ET.SubElement(suite, "testcase", name=clean(row["scenario"]), classname=classname,
                             time=_seconds(share))
        counts["tests"] += 1
        counts["time"] += share
        if not row["ok"]:
            failure = clean(row.get("failure") or "failed")
            where = row.get("where") or {}
            text = failure + (f"\nat {where.get('time_ns')} ns, cycle {where.get('cycle')} of run "
                              f"{where.get('run')}/{where.get('runs')}" if where else "") + f"\nreproduce: {reproduce}"
            ET.SubElement(case, "failure", type="check",
                          message=f"{failure[:MESSAGE_CHARS]} | reproduce: {reproduce}").text = text
            counts["failures"] += 1
            if tail:
                ET.SubElement(case, "system-out").text = tail
    if not rows and not error_type:  # a job that passed without rows still shows as run
        ET.SubElement(suite, "testcase", name=f"seed {r.job.seed}", classname=classname, time=_seconds(share))
        counts["tests"] += 1
        counts["time"] += share
    if error_type:
        case = ET.SubElement(suite, "testcase", name=f"seed {r.job.seed}: the job itself", classname=classname,
                             time=_seconds(share))
        counts["tests"] += 1
        counts["errors"] += 1
        counts["time"] += share
        message = clean(r.message)
        ET.SubElement(case, "error", type=error_type,
                      message=f"{message[:MESSAGE_CHARS]} | reproduce: {reproduce}").text = (
            f"{message}\nreproduce: {reproduce}")
        if tail:
            ET.SubElement(case, "system-out").text = tail
