"""The DUT's pin protocol, free of any simulator: config and input encoding, state and event decoding.

Every bench (cocotb on Verilator, amaranth.sim, later the board) reads pins through a getter
``get(name) -> int`` and drives them from the dicts returned here, so the mapping between pins
and transactions exists once.
"""

from __future__ import annotations

from py_model import HwState, Inputs, Scenario
from py_model.host_state import REGISTERS
from py_model.transactions import Txn
from rtl.interfaces import HOST_REGS
from rtl.top import PORTS


def config_pins(scenario: Scenario) -> dict[str, int]:
    cfg, hs = scenario.config, scenario.host_state
    return {
        "cfg__fixed": int(cfg.module == "fixed"),
        "cfg__fred": int(cfg.entry == "fred"),
        "cfg__nmi_source": int(cfg.nmi_source),
        "cfg__seamcall": cfg.seamcall,
        "cfg__vmentry": cfg.vmentry,
        "cfg__exit": cfg.exit,
        "cfg__td_tsx": int(bool(hs and hs.td_tsx)),
        "cfg__td_waitpkg": int(bool(hs and hs.td_waitpkg)),
        "cfg__steps": cfg.steps,
        "cfg__step": cfg.step,
        "cfg__step_window": cfg.step_window,
    }


# Derived from NmiTop's declared port groups (rtl.top.PORTS), never retyped.
CONFIG_PINS = tuple(name for name in PORTS if name.startswith("cfg__"))
STIMULUS_PINS = tuple(name for name in PORTS if name.startswith("stim__"))
IDLE_PINS = {name: 0 for name in STIMULUS_PINS}


def input_pins(inputs: Inputs) -> dict[str, int]:
    return {
        "stim__nmi": int(inputs.nmi),
        "stim__nmi_vector": inputs.vector if inputs.nmi else 0,
        "stim__seamcall": int(inputs.seamcall),
        "stim__iret": int(inputs.iret),
        "stim__iret_nmi": int(inputs.iret and inputs.iret_nmi),
        "stim__exit_req": int(inputs.exit_req),
        "stim__exit_reason": inputs.exit_reason if inputs.exit_req else 0,
        "stim__reg__we": int(inputs.reg_we),
        "stim__reg__addr": inputs.reg_addr if inputs.reg_we else 0,
        "stim__reg__data": inputs.reg_data if inputs.reg_we else 0,
    }


def read_inputs(get) -> Inputs:
    """The inputs driven in this cycle, read back from the stimulus pins (where something other than
    the bench drives them: the softcore's CPU and environment)."""
    return Inputs(nmi=bool(get("stim__nmi")), vector=get("stim__nmi_vector"), seamcall=bool(get("stim__seamcall")),
                  iret=bool(get("stim__iret")), iret_nmi=bool(get("stim__iret_nmi")),
                  exit_req=bool(get("stim__exit_req")), exit_reason=get("stim__exit_reason"),
                  reg_we=bool(get("stim__reg__we")), reg_addr=get("stim__reg__addr"), reg_data=get("stim__reg__data"))


STATE_PINS = ("status__phase", "status__blocked", "status__latch", "status__saved_blocked", "status__bitmap")


def read_state(get) -> HwState:
    return HwState(phase=get("status__phase"), blocked=bool(get("status__blocked")), latch=bool(get("status__latch")),
                   saved_blocked=bool(get("status__saved_blocked")), bitmap=get("status__bitmap"))


EVENT_PINS = tuple(name for name in PORTS if name.startswith("ev__"))
REGS_PIN = "status__host_regs"

# What the softcore bench reads in each cycle it looks at (the SoC's ``mon__`` ports, without the
# prefix), also packed into one port of the simulator's wrapper, ``tb_sampled`` (first name in the
# low bits), so that a sample is one read (tb/sim/verilator.py, tb/uvm/softcore.py).
SOC_SAMPLED = (*EVENT_PINS, *STATE_PINS, *STIMULUS_PINS, "done", "log_valid", "log_data", "cycle", "in_handler",
               "poll_state", "poll_index", "polls", "irq", "wake")
SOC_PACKED = "tb_sampled"


def read_events(cycle: int, get) -> list[Txn]:
    """The transactions of edge ``cycle``, from the registered event pins seen in cycle+1."""
    out = []
    if get("ev__deliver"):
        out.append(Txn.make(cycle, "deliver", via="fred" if get("ev__deliver_fred") else "idt",
                            bitmap=get("ev__deliver_bitmap")))
    # A qualifier pin raised without its event is reported as that event, so the scoreboard sees a
    # spurious qualifier instead of the decoder hiding it (`make mcy` found one hidden that way).
    if get("ev__nmi") or get("ev__latch") or get("ev__drop"):
        vector = get("ev__nmi_vector")
        out.append(Txn.make(cycle, "nmi", vector=vector))
        if get("ev__latch"):
            out.append(Txn.make(cycle, "latch", vector=vector))
        if get("ev__drop"):
            out.append(Txn.make(cycle, "drop", vector=vector))
    if get("ev__absorb") or get("ev__absorb_intr"):
        out.append(Txn.make(cycle, "absorb", intr=get("ev__absorb_intr")))
    if get("ev__iret") or get("ev__iret_nmi"):
        out.append(Txn.make(cycle, "iret", nmi=get("ev__iret_nmi")))
    if get("ev__seamcall"):
        out.append(Txn.make(cycle, "seamcall", saved=get("ev__seamcall_saved")))
    if get("ev__vmentry"):
        out.append(Txn.make(cycle, "vmentry"))
    if get("ev__step") or get("ev__step_intr"):
        out.append(Txn.make(cycle, "step", intr=get("ev__step_intr")))
    if get("ev__unstep") or get("ev__unstep_mtf"):
        out.append(Txn.make(cycle, "unstep", mtf=get("ev__unstep_mtf")))
    if get("ev__self_nmi"):
        out.append(Txn.make(cycle, "self_nmi"))
    if get("ev__exit"):
        out.append(Txn.make(cycle, "exit", reason=get("ev__exit_reason"), qual=get("ev__exit_qual")))
    if get("ev__seamret"):
        out.append(Txn.make(cycle, "seamret", blocked=get("ev__seamret_blocked")))
    if get("ev__write"):
        out.append(Txn.make(cycle, "write", reg=REGISTERS[get("ev__write_addr")], value=get("ev__write_data")))
    return out


REGISTER_CHECKPOINTS = ("write", "seamret")  # the transactions after which the register file is sampled


def changes_registers(edge: list[Txn]) -> bool:
    """An edge after which the register file is sampled (a host-state checkpoint)."""
    return any(t.kind in REGISTER_CHECKPOINTS for t in edge)


def read_regs(get) -> tuple[int, ...]:
    bits = get(REGS_PIN)
    width = HOST_REGS.size // HOST_REGS.length
    return tuple((bits >> (width * i)) & ((1 << width) - 1) for i in range(HOST_REGS.length))


# The trace group: an event-driven monitor sleeps until WAKE_PIN rises and stamps what it samples
# with CYCLE_PIN (edges since reset; the benches' reset sequence adds one idle edge before cycle 0).
WAKE_PIN = "trace__wake"
CYCLE_PIN = "trace__cycle"
# The bench wrapper's run-index input (tb/sim/verilator.py, bench_wrapper): not the design's, the waves'.
RUN_INDEX = "tb_run"
RUN_INDEX_WIDTH = 16


def read_cycle(get) -> int:
    """The bench's cycle number during this cycle: edges since reset, less the idle edge the reset
    sequence runs before cycle 0 (``tb/uvm/bfm.NmiBfm.reset``)."""
    return get(CYCLE_PIN) - 1
