"""The regression dashboard in a real browser: a deliberately failing regression (a job with an RTL
defect) leaves a page that headless Chromium renders without a console error or a missing resource,
showing the failing job with its reproduce command and its timeline, and `make report` rebuilds it."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tb.flows import regress
from tb.flows.jobs import Job
from tb.reports import dashboard, results_db

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def render(page, tmp_path) -> tuple[str, str]:
    """The page's DOM after Chromium loaded it, and Chromium's console log."""
    proc = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                           "--log-level=0", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, proc.stderr


@pytest.mark.skipif(not CHROMIUM, reason="Chromium not installed (Debian: chromium); CI installs it")
def test_a_failing_regression_is_shown_in_the_browser(tmp_path, monkeypatch):
    monkeypatch.setattr(regress, "OUT", tmp_path / "regress")
    monkeypatch.setattr(results_db, "STORE", tmp_path / "results")
    monkeypatch.setattr(results_db, "HISTORY", tmp_path / "results" / "history.jsonl")
    (tmp_path / "regress").mkdir()
    jobs = [Job("nmi_seamret", 1, bugs=("seamret_always_restore",)), Job("no_td", 1)]
    assert regress._regress(jobs, 1, 2, None) == 1
    page = tmp_path / "regress" / "dashboard.html"
    dom, console = render(page, tmp_path)
    assert "CONSOLE" not in console, console[-2000:]  # no script error, no console message at all
    failing = re.search(r'<tr class="FAIL" id="failing-nmi_seamret-1">(.*?)</tr>', dom, re.S)
    assert failing and "make sim TEST=nmi_seamret SEED=1 BUG=seamret_always_restore" in failing.group(1)
    links = re.findall(r'href="([^"]+)"', failing.group(1))
    assert any(".svg" in link for link in links) and any("sim.log" in link for link in links), links
    for link in re.findall(r'(?:href|src)="([^"#]+)"', dom):  # every linked picture and log is there
        assert (page.parent / link).exists() or link.startswith("file:"), link
    assert 'id="verdict"' in dom and "1 failed" in dom and "<svg" in dom

    # A second regression, a subset: both are in the history the page plots.
    assert regress._regress([Job("no_td", 1)], 1, 2, None) == 0
    dom, console = render(page, tmp_path)
    assert "over 2 regressions" in dom and "CONSOLE" not in console

    # make report rebuilds the same page from what is on disk.
    page.unlink()
    assert dashboard.build(tmp_path / "regress") == page and "over 2 regressions" in page.read_text()


def test_the_browser_check_can_fail(tmp_path):
    """A page whose script fails is caught by the console check."""
    if not CHROMIUM:
        pytest.skip("Chromium not installed (Debian: chromium); CI installs it")
    page = tmp_path / "broken.html"
    page.write_text('<!doctype html><html><body><script>undefined_function()</script></body></html>')
    _, console = render(page, tmp_path)
    assert "CONSOLE" in console and "undefined_function" in console, console[-2000:]
