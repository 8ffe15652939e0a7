"""One softcore case on the softcore core (``rtl/soc/softcore_core.py``) over any register port.

A port has ``write(addr, value)``, ``read(addr, count) -> list[int]`` and ``run(bound) -> instructions
| None`` (start the run and return when it has stopped; the CPU's retired instructions where the
transport can count them). The raw harness and the UART bridge (virtual or real board) are two
such ports; this module is the whole protocol, free of any transport and any simulator.
"""

from __future__ import annotations

from dataclasses import dataclass

from rtl.board_top import pack_fields
from rtl.soc.abi import HS_TABLE_ADDR
from rtl.soc.softcore_core import (
    ADDRESS,
    CFG_FIELDS,
    LENS_FIELDS,
    REGS_STRIDE,
    STATUS_BITS,
    STEPS_FIELDS,
    TRACE_STRIDE,
)
from rtl.soc.trace import REGS_PIN, REGS_WIDTH, SAMPLE_WIDTH, sample_fields
from tb.protocol.pins import config_pins
from tb.stimulus.softcore import SoftcoreCase, compile_environment

SAMPLE_WORDS = -(-SAMPLE_WIDTH // 32)
REGS_WORDS = -(-REGS_WIDTH // 32)
LAYOUT = []
_shift = 0
for _name, _width in sample_fields():
    LAYOUT.append((_name, _shift, (1 << _width) - 1))
    _shift += _width


class SessionError(RuntimeError):
    """The core's answers cannot be trusted (a wrong ID, counts beyond its memories)."""


@dataclass
class CaseTrace:
    """What a run left: its samples (``SAMPLED`` fields by name; the register file under ``REGS_PIN``
    at its checkpoints), how it stopped, and what the firmware reported."""

    samples: list[dict]
    done: bool
    bounded: bool
    overflow: bool
    cycles: int
    done_value: int
    instructions: int | None


def words_to_int(words: list[int]) -> int:
    return sum(w << (32 * k) for k, w in enumerate(words))


def decode_sample(value: int) -> dict:
    return {name: (value >> shift) & mask for name, shift, mask in LAYOUT}


def configure(port, case: SoftcoreCase, bound: int) -> None:
    """The case's configuration, the firmware's CONFIG, the player's program and TD writes, the
    host-state table and the bound, written to the core."""
    program, guest = compile_environment(case)
    pins = config_pins(case.scenario)
    port.write(ADDRESS["CFG"], pack_fields(CFG_FIELDS, pins))
    port.write(ADDRESS["LENS"], pack_fields(LENS_FIELDS, pins))
    port.write(ADDRESS["STEPS"], pack_fields(STEPS_FIELDS, pins))
    port.write(ADDRESS["SW_CFG"], case.sw_cfg)
    for i, word in enumerate(program):
        port.write(ADDRESS["ENV"] + i, word)
    for i, (reg, value) in enumerate(guest):
        for k, word in enumerate((reg, value & 0xFFFF_FFFF, value >> 32)):
            port.write(ADDRESS["GUEST"] + 4 * i + k, word)
    port.write(ADDRESS["GUEST_COUNT"], len(guest))
    for i, word in enumerate(case.hs_table):
        port.write(ADDRESS["RAM"] + HS_TABLE_ADDR // 4 + i, word)
    port.write(ADDRESS["BOUND"], bound)


def read_back(port, instructions: int | None, depth: tuple[int, int]) -> CaseTrace:
    """The run's status and trace, read from the core after it stopped."""
    status, counts, done_value, cycles = (port.read(ADDRESS[name], 1)[0]
                                          for name in ("STATUS", "COUNTS", "DONE_VALUE", "CYCLES"))
    if status & STATUS_BITS["running"]:
        raise SessionError("the core still runs after the run was reported stopped")
    n, n_regs = counts & 0xFFFF, counts >> 16
    if n > depth[0] or n_regs > depth[1]:
        raise SessionError(f"the core reports {n} trace and {n_regs} register-file records; it holds {depth}")
    regs = records(port, ADDRESS["REGS"], n_regs, REGS_STRIDE, REGS_WORDS)
    samples, at = [], iter(regs)
    for i, value in enumerate(records(port, ADDRESS["TRACE"], n, TRACE_STRIDE, SAMPLE_WORDS)):
        sample = decode_sample(value)
        if depth[1] and (i == 0 or sample["ev__write"] or sample["ev__seamret"]):
            sample[REGS_PIN] = next(at, None)  # None: that record did not fit (overflow says so)
        samples.append(sample)
    return CaseTrace(samples, bool(status & STATUS_BITS["done"]), bool(status & STATUS_BITS["bounded"]),
                     bool(status & STATUS_BITS["overflow"]), cycles, done_value, instructions)


def records(port, base: int, n: int, stride: int, words: int) -> list[int]:
    """``n`` records of ``words`` words, ``stride`` addresses apart: in one pipelined read where the
    port has one (``read_records``: the harness), else a read per record (a UART bridge sends only
    the words asked for)."""
    if hasattr(port, "read_records"):
        return port.read_records(base, n, stride, words) if n else []
    return [words_to_int(port.read(base + stride * i, words)) for i in range(n)]


def depths(port) -> tuple[int, int]:
    """The core's trace and register-file depths (and a check that it is the softcore core)."""
    from rtl.soc.softcore_core import SOFTCORE_ID

    ident, info = port.read(ADDRESS["ID"], 1)[0], port.read(ADDRESS["INFO"], 1)[0]
    if ident != SOFTCORE_ID:
        raise SessionError(f"the core answered ID 0x{ident:08x}, not the softcore core's 0x{SOFTCORE_ID:08x}")
    return info & 0xFFFF, info >> 16


def run_case(port, case: SoftcoreCase, bound: int, depth: tuple[int, int]) -> CaseTrace:
    configure(port, case, bound)
    instructions = port.run(bound)
    return read_back(port, instructions, depth)


def reload_firmware(port, words: list[int]) -> None:
    """The whole image again (after a run that did not finish: it may have written over its code)."""
    for i, word in enumerate(words):
        port.write(ADDRESS["RAM"] + i, word)
