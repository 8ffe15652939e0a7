"""The DUT's pin protocol, free of any simulator: config and input encoding, state and event decoding.

Every bench (cocotb on Verilator, amaranth.sim, later the board) reads pins through a getter
``get(name) -> int`` and drives them from the dicts returned here, so the mapping between pins
and transactions exists once.
"""

from __future__ import annotations

from amaranth.lib.wiring import In

from py_model import HwState, Inputs, Scenario
from py_model.host_state import REGISTERS
from py_model.transactions import Txn
from rtl.top import PORTS


def config_pins(scenario: Scenario) -> dict[str, int]:
    cfg, hs = scenario.config, scenario.host_state
    return {
        "cfg_td_tsx": int(bool(hs and hs.td_tsx)),
        "cfg_td_waitpkg": int(bool(hs and hs.td_waitpkg)),
        "cfg_fixed": int(cfg.module == "fixed"),
        "cfg_fred": int(cfg.entry == "fred"),
        "cfg_nmi_source": int(cfg.nmi_source),
        "cfg_seamcall": cfg.seamcall,
        "cfg_vmentry": cfg.vmentry,
        "cfg_exit": cfg.exit,
    }


# Derived from NmiTop's declared ports (rtl.top.PORTS), never retyped.
CONFIG_PINS = tuple(name for name in PORTS if name.startswith("cfg_"))
STIMULUS_PINS = tuple(name for name, m in PORTS.items() if m.flow == In and not name.startswith("cfg_"))
IDLE_PINS = {name: 0 for name in STIMULUS_PINS}


def input_pins(inputs: Inputs) -> dict[str, int]:
    return {
        "nmi": int(inputs.nmi),
        "nmi_vector": inputs.vector if inputs.nmi else 0,
        "seamcall": int(inputs.seamcall),
        "iret": int(inputs.iret),
        "iret_nmi": int(inputs.iret and inputs.iret_nmi),
        "exit_req": int(inputs.exit_req),
        "exit_reason": inputs.exit_reason if inputs.exit_req else 0,
        "reg_we": int(inputs.reg_we),
        "reg_addr": inputs.reg_addr if inputs.reg_we else 0,
        "reg_data": inputs.reg_data if inputs.reg_we else 0,
    }


STATE_PINS = ("phase", "blocked", "latch", "saved_blocked", "bitmap")


def read_state(get) -> HwState:
    return HwState(phase=get("phase"), blocked=bool(get("blocked")), latch=bool(get("latch")),
                   saved_blocked=bool(get("saved_blocked")), bitmap=get("bitmap"))


EVENT_PINS = tuple(name for name in PORTS if name.startswith("ev_"))
REGS_PIN = "host_regs"


def read_events(cycle: int, get) -> list[Txn]:
    """The transactions of edge ``cycle``, from the registered event pins seen in cycle+1."""
    out = []
    if get("ev_deliver"):
        out.append(Txn.make(cycle, "deliver", via="fred" if get("ev_deliver_fred") else "idt",
                            bitmap=get("ev_deliver_bitmap")))
    # A qualifier pin raised without its event is reported as that event, so the scoreboard sees a
    # spurious qualifier instead of the decoder hiding it (`make mcy` found one hidden that way).
    if get("ev_nmi") or get("ev_latch") or get("ev_drop"):
        vector = get("ev_nmi_vector")
        out.append(Txn.make(cycle, "nmi", vector=vector))
        if get("ev_latch"):
            out.append(Txn.make(cycle, "latch", vector=vector))
        if get("ev_drop"):
            out.append(Txn.make(cycle, "drop", vector=vector))
    if get("ev_iret") or get("ev_iret_nmi"):
        out.append(Txn.make(cycle, "iret", nmi=get("ev_iret_nmi")))
    if get("ev_seamcall"):
        out.append(Txn.make(cycle, "seamcall", saved=get("ev_seamcall_saved")))
    if get("ev_vmentry"):
        out.append(Txn.make(cycle, "vmentry"))
    if get("ev_exit"):
        out.append(Txn.make(cycle, "exit", reason=get("ev_exit_reason"), qual=get("ev_exit_qual")))
    if get("ev_seamret"):
        out.append(Txn.make(cycle, "seamret", blocked=get("ev_seamret_blocked")))
    if get("ev_write"):
        out.append(Txn.make(cycle, "write", reg=REGISTERS[get("ev_write_addr")], value=get("ev_write_data")))
    return out


def changes_registers(edge: list[Txn]) -> bool:
    """An edge after which the register file is sampled (a host-state checkpoint)."""
    return any(t.kind in ("write", "seamret") for t in edge)


def read_regs(get) -> tuple[int, ...]:
    bits = get(REGS_PIN)
    return tuple((bits >> (64 * i)) & ((1 << 64) - 1) for i in range(len(REGISTERS)))
