"""The regression's JUnit report, as a CI server reads it: valid against the schema (tb/reports/junit.xsd,
Ant's shape with the attributes Jenkins wants), one testcase per scenario run, failures (a check) apart
from errors (a crash, a timeout, a job that could not be judged), text a parser accepts whatever the
log held, the reproduce command in every message and the log tail in <system-out>."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import junitparser
import xmlschema

from tb.flows.jobs import Job, JobResult
from tb.reports.junit import SCHEMA, clean, junit_xml

COLOURED = "\x1b[31mERROR\x1b[0m the simulator said \x07\x00 goodbye \x1b[1;33mnow\x1b[0m"


def row(name, ok=True, failure=None):
    return {"scenario": name, "ok": ok, "failure": failure,
            **({"where": {"time_ns": 3170, "cycle": 13, "run": 2, "runs": 2}} if not ok else {})}


def results():
    return [
        JobResult(Job("nmi_seamret", 1), True, 2.0, "", runs=[row("nmi_seamret[a]"), row("nmi_seamret[b]")]),
        JobResult(Job("random", 7), False, 3.0, "txn #6 differs",
                  runs=[row("random[seed=7.0]"), row("random[seed=7.1]", False, "txn #6: reference <&> differs")],
                  output_tail=["building ...", COLOURED]),
        JobResult(Job("random", 8), False, 60.0, "timed out after 60 s", error_type="timeout", output_tail=[COLOURED]),
        JobResult(Job("library", 1), False, 4.0, "crashed (exit 139): " + COLOURED, error_type="crash"),
    ]


def test_the_report_is_valid_against_the_schema_and_parses(tmp_path):
    text = junit_xml(results())
    xmlschema.XMLSchema(str(SCHEMA)).validate(text)  # raises on any departure
    ET.fromstring(text)
    report = tmp_path / "junit.xml"
    report.write_text(text)
    parsed = junitparser.JUnitXml.fromfile(str(report))  # as a CI server reads it (lxml refuses a str with a declaration)
    cases = [(suite.name, case) for suite in parsed for case in suite]
    assert len(cases) == 6  # four scenario rows, two jobs that failed themselves
    kinds = {case.name: [type(r).__name__ for r in case.result] for _, case in cases}
    assert kinds["random[seed=7.1]"] == ["Failure"] and kinds["random[seed=7.0]"] == []
    assert kinds["seed 8: the job itself"] == ["Error"] and kinds["seed 1: the job itself"] == ["Error"]
    root = ET.fromstring(text)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("6", "1", "2")
    for suite in root.iter("testsuite"):
        assert suite.get("timestamp") and suite.get("hostname") and suite.get("time") is not None


def test_messages_carry_the_reproduce_command_and_the_log_tail_is_clean():
    root = ET.fromstring(junit_xml(results()))
    failure = root.find(".//testcase[@name='random[seed=7.1]']/failure")
    assert failure.get("type") == "check" and "reproduce: make sim TEST=random SEED=7" in failure.get("message")
    assert "reference <&> differs" in failure.text and "cycle 13 of run 2/2" in failure.text
    error = root.find(".//testcase[@classname='tdx_nmi.random.seed8']/error")
    assert error.get("type") == "timeout" and "make sim TEST=random SEED=8" in error.get("message")
    out = root.find(".//testcase[@classname='tdx_nmi.random.seed8']/system-out").text
    assert out == "ERROR the simulator said  goodbye now"
    crash = root.find(".//testcase[@classname='tdx_nmi.library.seed1']/error")
    assert crash.get("type") == "crash" and "\x1b" not in crash.get("message")


def test_the_schema_check_can_fail():
    """A report in the old shape (one suite, no timestamp or hostname) is refused by the schema."""
    old = ('<?xml version="1.0"?>\n<testsuite name="regress" tests="1" failures="0">'
           '<testcase classname="x" name="seed1" time="1.0"/></testsuite>')
    assert not xmlschema.XMLSchema(str(SCHEMA)).is_valid(old)
    assert clean("a\x1b[0mb\x00c") == "abc"
