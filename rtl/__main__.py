"""``python -m rtl [--bug NAME]`` (``make rtl``): write the design's Verilog and print its hash.

Writes ``build/rtl/nmi_top.v`` (the NMI design) and ``build/rtl/nmi_soc.v`` (the softcore SoC; it also
needs the VexRiscv Verilog it names), stable names a tool can point at, beside the hashed copies the
build caches key on.
"""

import argparse
import shutil

from .bugs import BUGS
from .generate import ROOT, SOC_TOP_NAME, TOP_NAME, extra_sources, generate


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m rtl", description=__doc__.splitlines()[0])
    parser.add_argument("--bug", action="append", default=[], choices=sorted(BUGS))
    args = parser.parse_args()
    for top in (TOP_NAME, SOC_TOP_NAME):
        path, digest = generate(args.bug, top=top)
        stable = path.with_name(f"{top}.v")
        staged = stable.with_name(f".{stable.name}.tmp")
        shutil.copyfile(path, staged)
        staged.replace(stable)  # whole, never half a file
        needs = "".join(f"; it instantiates {p.name} ({p})" for p in extra_sources(top))
        print(f"wrote {stable.relative_to(ROOT)} (rtl hash {digest}, also {path.relative_to(ROOT)}){needs}")


if __name__ == "__main__":
    main()
