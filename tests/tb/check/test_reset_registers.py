"""The register file as reset leaves it is compared at every run's cycle 0: a reset value that differs
from the reference's (an MCY survivor: DR0's reset value with bit 48 set, hidden because every run
wrote DR0 before any edge made the bench read the file) is a mismatch, and a bench that never
samples it cannot pass."""

import pytest

from conftest import SCENARIO_DIR
from py_model import load_scenario
from py_model.host_state import ADDRESS, REGISTERS
from tb.check.checker import HardwareChecker
from tb.check.scoreboard import Mismatch


def checker():
    return HardwareChecker(load_scenario(SCENARIO_DIR / "a1_host_nmi_no_td.yaml").config, "reset")


def test_the_reset_values_match():
    c = checker()
    c.observed_regs(-1, [0] * len(REGISTERS))
    assert not c.failed
    c.scoreboard.finish()


def test_a_wrong_reset_value_is_a_mismatch():
    c = checker()
    regs = [0] * len(REGISTERS)
    regs[ADDRESS["DR0"]] = 1 << 48
    c.observed_regs(-1, regs)
    assert c.failed and "DR0" in c.scoreboard.mismatches[0], c.scoreboard.mismatches


def test_a_bench_that_never_samples_the_reset_values_fails():
    with pytest.raises(Mismatch, match="regs: the rtl never produced"):
        checker().scoreboard.finish()


def test_without_the_register_file_nothing_is_expected():
    c = HardwareChecker(load_scenario(SCENARIO_DIR / "a1_host_nmi_no_td.yaml").config, "bare", registers=False)
    c.scoreboard.finish()
