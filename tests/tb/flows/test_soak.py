"""`make soak` on the virtual board: the signs the spec predicts, and a defect that flips them."""

import subprocess
import sys

from conftest import ROOT
from tb.flows.soak import expectation


def snap(**kw):
    base = {"nmis": 100, "entries": 50, "passes": 40, "unknown": 0, "inversions": 0}
    return {**base, **kw}


def test_expectations_per_configuration():
    assert expectation("fixed-noinstr", snap(), snap(), snap()) is None
    assert "expected no unknown" in expectation("fixed-late", snap(), snap(), snap(unknown=1))
    assert expectation("legacy", snap(), snap(unknown=1, inversions=1), snap(unknown=3, inversions=2)) is None
    assert "grow" in expectation("legacy", snap(), snap(unknown=3, inversions=2), snap(unknown=3, inversions=2))
    assert "expected unknown NMIs and inversions" in expectation("fixed-late-faults", snap(), snap(), snap())
    assert "nothing happened" in expectation("fixed-noinstr", snap(), snap(), snap(passes=0))


def soak(*args):
    return subprocess.run([sys.executable, "-m", "tb.flows.soak", "--seconds", "3", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)


def test_soak_gives_the_spec_signs_on_the_virtual_board():
    proc = soak("--config", "legacy,fixed-noinstr,fixed-late-faults")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("as the spec says") == 3


def test_a_module_that_loses_the_fix_fails_the_fixed_soak():
    proc = soak("--config", "fixed-noinstr", "--bug", "seamret_always_restore")
    assert proc.returncode == 1 and "FAIL expected no unknown NMI and no inversion" in proc.stdout, proc.stdout
    assert "reproduce: make soak TARGET=vboard SECONDS=3 CONFIG=fixed-noinstr BUG=seamret_always_restore" in proc.stdout


def test_soak_gives_the_spec_signs_in_simulation_under_cocotb():
    """TARGET=sim: the same core on Verilator under cocotb, its UART read by a cocotb receiver into the
    same decoder and judgement; and the defect that loses the fix flips the fixed soak there too."""
    proc = soak("--target", "sim", "--config", "legacy,fixed-noinstr")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("as the spec says") == 2 and "soak on Verilator under cocotb" in proc.stdout
    broken = soak("--target", "sim", "--config", "fixed-noinstr", "--bug", "seamret_always_restore")
    assert broken.returncode == 1 and "FAIL expected no unknown NMI and no inversion" in broken.stdout, broken.stdout
    assert "reproduce: make soak TARGET=sim SECONDS=3 CONFIG=fixed-noinstr BUG=seamret_always_restore" in broken.stdout
