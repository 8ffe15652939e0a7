"""Generate Verilog for the design under test: ``python -m rtl [--bug NAME ...]``.

Writes ``build/rtl/<name>.v``; the file name carries a hash of its text, so a build cache keyed
on it (one Verilator build per RTL version) is never stale.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from amaranth.back import verilog

from .bugs import check_bugs
from .program_top import ProgramTop
from .top import NmiTop

ROOT = Path(__file__).resolve().parent.parent
TOP_NAME = "nmi_top"  # interactive: the design's pins driven by the bench
PROGRAM_TOP_NAME = "program_top"  # program mode: the design driven by the host engine
BOARD_CORE_NAME = "board_core"  # the board's gateware without pins: the virtual board
SOC_TOP_NAME = "nmi_soc"  # the softcore: VexRiscv running the firmware against the design
SOAK_CORE_NAME = "soak_core"  # the softcore under an NMI storm, with counters and a snapshot UART (make soak)
SOFTCORE_CORE_NAME = "softcore_core"  # the softcore, its environment player and trace behind a register port
SOFTCORE_BOARD_NAME = "softcore_board"  # the same behind the UART bridge: the softcore's virtual board


def _board_core(bugs):
    from .board_top import BoardCore

    return BoardCore(12, bugs=bugs)  # the iCEBreaker's 12 MHz at 1 Mbaud: 12 cycles per bit


def _soc(bugs):
    from .soc.soc import NmiSoc

    return NmiSoc(bugs, host_state=True)  # KVM's restores run on the CPU (the 8 hs_* scenarios)


def _soak_core(bugs, firmware=()):
    from .soc.soak import SoakCore

    if not firmware:
        raise ValueError("the soak core needs the firmware image (its RAM's contents): firmware=...")
    return SoakCore(firmware, bugs=bugs)


def _softcore_core(bugs, firmware=()):
    from .soc.softcore_core import SoftcoreCore

    # Without a firmware image the RAM starts empty and the host loads the image (one build per RTL
    # version, whatever the firmware).
    return SoftcoreCore(firmware, bugs)


def _softcore_board(bugs, firmware=()):
    from .soc.softcore_core import SoftcoreBoardCore

    return SoftcoreBoardCore(firmware, 12, bugs)  # 12 cycles per UART bit, as the program-mode board


TOPS = {TOP_NAME: NmiTop, PROGRAM_TOP_NAME: ProgramTop, BOARD_CORE_NAME: _board_core, SOC_TOP_NAME: _soc,
        SOAK_CORE_NAME: _soak_core, SOFTCORE_CORE_NAME: _softcore_core, SOFTCORE_BOARD_NAME: _softcore_board}


def extra_sources(top: str) -> list[Path]:
    """Verilog a top instantiates but does not generate (the softcore's CPU)."""
    if top in (SOC_TOP_NAME, SOAK_CORE_NAME, SOFTCORE_CORE_NAME, SOFTCORE_BOARD_NAME):
        from .soc.vexriscv import verilog_source

        return [verilog_source()]
    return []


# Yosys writes the nets it and Amaranth leave unnamed as escaped identifiers starting with "$"
# (``\$1``, ``\$auto$verilog_backend.cc:...``). In a wave dump they are noise, and GTKWave reads a
# name starting with "$" as a VCD keyword and refuses the file. Renamed to "_<n>_": Verilator
# leaves names starting with "_" out of its dumps (unless --trace-underscore), so the waves carry
# the design's own names only.
_ANONYMOUS = re.compile(r"\\\$(\S+)")


def hide_anonymous(text: str) -> str:
    taken = set(re.findall(r"\b_\d+_\b", text))
    names: dict[str, str] = {}

    def rename(match):
        if match.group(1) not in names:
            n = len(names)
            while f"_{n}_" in taken:
                n += 1
            names[match.group(1)] = f"_{n}_"
            taken.add(names[match.group(1)])
        return names[match.group(1)]

    return _ANONYMOUS.sub(rename, text)


def verilog_text(bugs=(), top: str = TOP_NAME, src: bool = False, **params) -> str:
    """``src``: keep Amaranth's source attributes (``(* src = "rtl/...py:N" *)``), which the code-coverage
    build reads to map Verilog lines back to the Amaranth source."""
    # before constructing, so a refused name leaves no orphan elaboratable
    check_bugs(bugs, soc=top in (SOC_TOP_NAME, SOFTCORE_CORE_NAME, SOFTCORE_BOARD_NAME))
    return hide_anonymous(verilog.convert(TOPS[top](bugs, **params), name=top, emit_src=src))


def generate(bugs=(), out_dir: Path | None = None, top: str = TOP_NAME, src: bool = False,
             **params) -> tuple[Path, str]:
    """Write the Verilog; return (path, short hash of its text). ``params``: the top's own (the soak
    core's firmware)."""
    text = verilog_text(bugs, top, src, **params)
    # The hash covers the sources the top instantiates too, so a different CPU is another build.
    digest = hashlib.sha256(text.encode() + b"".join(p.read_bytes() for p in extra_sources(top))).hexdigest()[:12]
    out_dir = out_dir or ROOT / "build" / "rtl"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{top}_{digest}.v"
    if not path.exists():  # written aside and renamed: a concurrent reader never sees half of it
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    return path, digest
