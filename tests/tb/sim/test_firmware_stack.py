"""The stack the linker script keeps below the host-state table covers the firmware's deepest nesting,
summed from the compiler's own frames (the product firmware and every deliberate defect)."""

import re
import subprocess
import sys

import pytest

from rtl.soc import abi
from rtl.soc.firmware_defects import FIRMWARE_DEFECTS
from tb.sim.firmware import CFLAGS, SOURCE_DIR, soc_header

# The deepest call chain: main -> KVM's manual pass -> default_do_nmi, interrupted by a nested NMI
# (exc_nmi's trap frame) -> default_do_nmi -> the handler-state helpers (leaves).
DEEPEST = ("main", "kvm_manual_nmi", "default_do_nmi", "exc_nmi", "default_do_nmi", "handler_enter")


def frames(source: str, tmp_path) -> dict[str, int]:
    (tmp_path / "kvm_nmi.c").write_text(source)
    (tmp_path / "soc.h").write_text(soc_header())
    flags = [f for f in CFLAGS if f != "-Werror"]
    subprocess.run([sys.executable, "-m", "ziglang", "cc", *flags, "-S", "-o", "k.s", "kvm_nmi.c"], cwd=tmp_path,
                   check=True, capture_output=True, timeout=300)
    out, function = {}, None
    for line in (tmp_path / "k.s").read_text().splitlines():
        label = re.match(r"^([A-Za-z_]\w*):", line)
        if label:
            function = label.group(1)
        grow = re.match(r"\s+addi\s+sp, sp, -(\d+)", line)
        if grow and function and function not in out:
            out[function] = int(grow.group(1))
    return out


@pytest.mark.parametrize("defect", [None, *sorted(FIRMWARE_DEFECTS)])
def test_the_deepest_nesting_fits_the_stack_kept_free(defect, tmp_path):
    source = (SOURCE_DIR / "kvm_nmi.c").read_text()
    if defect:
        old, new, _ = FIRMWARE_DEFECTS[defect]
        source = source.replace(old, new)
    sizes = frames(source, tmp_path)
    assert {"main", "kvm_manual_nmi", "default_do_nmi", "exc_nmi"} <= set(sizes), sizes
    assert sum(sizes.get(f, 0) for f in DEEPEST) <= abi.STACK_BYTES, sizes
