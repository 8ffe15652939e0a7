"""Host state across TDH.VP.ENTER (SPEC §7): the module's policy, KVM's restore steps, the uret cache."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from py_model import Config, Scenario, run_model
from py_model.host_state import (
    DEBUGCTL_PRESERVED,
    PRESETS,
    REGISTERS,
    RESTORE_STEPS,
    SCRATCH,
    HostStateConfig,
    HostStateSw,
    module_exit_value,
)
from rtl.interfaces import REGISTER_MAP

ENTRY = [("enter", None), ("until", "guest"), ("wait", 30), ("exit", "tdvmcall"), ("until", "host")]


def run_hs(**hs):
    return run_model(Scenario("hs", Config(), ENTRY, host_state=HostStateConfig(**hs))).host_state


def test_module_policy_is_spec_section_7():
    def left(name, current=0x1234, at_call=0xFFFF, tsx=False, waitpkg=False):
        return module_exit_value(name, current, at_call, tsx, waitpkg)

    for name in ("DR0", "DR1", "DR2", "DR3", "KERNEL_GS_BASE", "STAR", "LSTAR", "TSC_AUX", "XFD", "XFD_ERR",
                 "UARCH_MISC_CTL", "CR2"):
        assert left(name) == 0, name
    assert (left("DR6"), left("DR7"), left("FMASK")) == (0xFFFF0FF0, 0x400, 0x20200)
    assert left("DEBUGCTL", current=0, at_call=0xFFFF) == 0x5002 == DEBUGCTL_PRESERVED  # host bits 1, 12, 14
    assert left("TSX_CTRL", tsx=True) == 0 and left("TSX_CTRL", tsx=False) == 0x1234
    for name in ("UMWAIT_CONTROL", "XCR0", "XSS", "PKRU"):
        assert left(name) == 0x1234  # as the TD left them


def test_rtl_address_map_matches_model():
    assert REGISTER_MAP == REGISTERS


def test_presets():
    assert run_hs(preset="merged", host={"DEBUGCTL": 0x4003})["differs"] == []
    first = run_hs(preset="first_posting", td_waitpkg=True, host={"DEBUGCTL": 0x4003})
    assert first["differs"] == ["DEBUGCTL", "UMWAIT_CONTROL"] and not first["refused"]
    assert run_hs(preset="merged", td_waitpkg=True)["refused"]
    assert run_hs(preset="merged", td_tsx=True)["refused"]


# Each restore step, turned off alone, and a case that needs it: (preset, TD/host settings, registers that go wrong).
STEP_CASES = {
    "debugctl": ("merged", {"host": {"DEBUGCTL": 0x4003}}, ["DEBUGCTL"]),
    "dr": ("merged", {"host_breakpoints": True}, ["DR0", "DR7"]),
    "xsave": ("merged", {}, ["XCR0", "XSS", "PKRU"]),
    "uret_update": ("merged", {}, ["STAR", "LSTAR", "FMASK", "TSC_AUX"]),
    "kernel_gs_base": ("merged", {}, ["KERNEL_GS_BASE"]),
    "xfd": ("merged", {"host": {"XFD": 0x40000}}, ["XFD"]),
    "refuse": ("merged", {"td_waitpkg": True}, ["UMWAIT_CONTROL"]),
    "uret_tsx": ("first_posting", {"td_tsx": True, "host": {"TSX_CTRL": 0x3}}, ["TSX_CTRL"]),
}


def test_every_restore_step_has_a_case():
    assert set(STEP_CASES) == set(RESTORE_STEPS)


@pytest.mark.parametrize("step", sorted(STEP_CASES))
def test_each_restore_step_off_alone_is_caught(step):
    preset, settings_, wrong = STEP_CASES[step]
    with_step = run_hs(preset=preset, restore={step: True}, **settings_)
    assert with_step["differs"] == [], with_step
    assert with_step["refused"] == (step == "refuse")  # refusing is how that step keeps state right
    without = run_hs(preset=preset, restore={step: False}, **settings_)
    assert without["differs"] == [r for r in REGISTERS if r in wrong] and not without["refused"], without


def test_user_return_cache_restores_only_where_the_cache_differs():
    sw = HostStateSw(HostStateConfig(preset="merged", host={"TSC_AUX": 0}))  # module's TSC_AUX is 0 too
    assert sw.user_return_writes() == []  # nothing registered, nothing restored
    sw.after_exit_writes()
    writes = dict(sw.user_return_writes())
    assert set(writes) == {"STAR", "LSTAR", "FMASK"}  # TSC_AUX: cache == host, no WRMSR
    assert sw.user_return_writes() == []  # restored once; the cache now says "host values"


def test_scratch_registers_reported_apart():
    result = run_hs(preset="merged", host={"CR2": 0x7000})
    assert result["differs"] == [] and result["scratch_clobbered"] == ["CR2"]
    assert set(SCRATCH) == {"XFD_ERR", "UARCH_MISC_CTL", "CR2"}


REG_VALUE = st.integers(0, (1 << 64) - 1)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from([r for r in REGISTERS if r not in SCRATCH]), REG_VALUE),
       st.dictionaries(st.sampled_from(REGISTERS), REG_VALUE), st.booleans(), st.booleans(), st.booleans())
def test_merged_restores_everything_for_any_values(host, guest, tsx, waitpkg, breakpoints):
    result = run_hs(preset="merged", host=host, guest=guest, td_tsx=tsx, td_waitpkg=waitpkg,
                    host_breakpoints=breakpoints)
    assert result["refused"] == (tsx or waitpkg)
    assert result["differs"] == []


def test_presets_name_every_step():
    for preset in PRESETS.values():
        assert set(preset) == set(RESTORE_STEPS)
