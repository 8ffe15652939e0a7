"""``python -m rtl [--bug NAME]`` (``make rtl``): write the top's Verilog and print its hash."""

import argparse

from .bugs import BUGS
from .generate import ROOT, generate


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m rtl", description=__doc__.splitlines()[0])
    parser.add_argument("--bug", action="append", default=[], choices=sorted(BUGS))
    args = parser.parse_args()
    path, digest = generate(args.bug)
    print(f"wrote {path.relative_to(ROOT)} (rtl hash {digest})")


if __name__ == "__main__":
    main()
