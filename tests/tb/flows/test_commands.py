"""Every command fails the same way (py_model/command.py's run_command, issue 27): a bad argument is
one line and exit 2 before any work; an internal error is one line, exit 3, the traceback kept in
build/internal-error.log; never a Python traceback on screen."""

import subprocess
import sys

import pytest

from conftest import ROOT

# entry module: (a bad argument, the arguments the injected-error run gets)
ENTRY_POINTS = {
    "tb.flows.runner": (["sim", "nmi_seamret", "--seed", "x"], ["list"]),
    "tb.flows.regress": (["run", "--jobs", "x"], ["plan"]),
    "tb.flows.mcy": (["--n", "0"], ["--n", "1"]),
    "tb.flows.mutants": (["--jobs", "0"], []),
    "tb.flows.soak": (["--seconds", "-1"], []),
    "tb.flows.formal": (["--only", "no_such_property"], []),
    "tb.flows.bench": (["--bogus"], []),
    "tb.flows.bitstream": (["moon"], ["icebreaker"]),
    "tb.flows.campaign": (["--seeds", "0"], []),
    "py_model.__main__": (["run", "x.yaml", "--max-cycles", "0"], ["run", "x.yaml"]),
}


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("module", sorted(ENTRY_POINTS))
def test_a_bad_argument_is_one_line_and_exit_2(module):
    bad, _ = ENTRY_POINTS[module]
    proc = run(f"import sys, importlib; sys.exit(importlib.import_module({module!r}).main({bad!r}))")
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-500:], proc.stderr)
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("module", sorted(ENTRY_POINTS))
def test_an_internal_error_is_one_line_and_exit_3(module):
    _, args = ENTRY_POINTS[module]
    code = (f"import sys, importlib; m = importlib.import_module({module!r})\n"
            "def broken(*a, **k): raise RuntimeError('injected fault')\n"
            f"m._main = broken; sys.exit(m.main({args!r}))")
    proc = run(code)
    assert proc.returncode == 3, (proc.returncode, proc.stdout[-500:], proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert lines == ["internal error: RuntimeError: injected fault; full traceback in build/internal-error.log"], lines
    assert "injected fault" in (ROOT / "build" / "internal-error.log").read_text()
