"""The VexRiscv soft CPU (``pythondata-cpu-vexriscv``'s pre-generated Verilog), as a component.

``VexRiscv_Min``: RV32I with the machine-mode CSRs (``mtvec``, ``mepc``, ``mcause``, ``mie``,
``mstatus``) and LiteX's external-interrupt mask (CSR 0xBC0) and pending (0xFC0) registers: an
unmasked bit of ``irq`` raises the machine external interrupt (``mie.MEIE``, ``mstatus.MIE``).
"""

from pathlib import Path

from amaranth import ClockSignal, Const, Instance, Module, ResetSignal, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .wishbone import WishboneSignature

VARIANT = "VexRiscv_Min"


def verilog_source() -> Path:
    """The CPU's Verilog file, from the pinned package."""
    import pythondata_cpu_vexriscv

    return Path(pythondata_cpu_vexriscv.data_location) / f"{VARIANT}.v"


class VexRiscv(wiring.Component):
    """The CPU.

    Parameters
    ----------
    reset_vector : int
        Byte address of the first instruction.

    Attributes
    ----------
    ibus, dbus : Out(WishboneSignature)
        Instruction fetches; loads and stores.
    irq : In(32)
        External interrupt lines (level).
    hold : In(1)
        Keep the CPU in reset (while its memory is loaded).
    """

    ibus: Out(WishboneSignature())
    dbus: Out(WishboneSignature())
    irq: In(32)
    hold: In(1)

    def __init__(self, reset_vector: int = 0):
        self.reset_vector = reset_vector
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        ports = dict(i_clk=ClockSignal(), i_reset=ResetSignal() | self.hold,
                     i_externalResetVector=Const(self.reset_vector, 32), i_timerInterrupt=0, i_softwareInterrupt=0,
                     i_externalInterruptArray=self.irq)
        for name, bus in (("iBusWishbone", self.ibus), ("dBusWishbone", self.dbus)):
            ports.update({
                f"o_{name}_CYC": bus.cyc, f"o_{name}_STB": bus.stb, f"o_{name}_WE": bus.we, f"o_{name}_ADR": bus.adr,
                f"o_{name}_DAT_MOSI": bus.dat_w, f"o_{name}_SEL": bus.sel, f"i_{name}_DAT_MISO": bus.dat_r,
                f"i_{name}_ACK": bus.ack, f"i_{name}_ERR": bus.err,
                f"o_{name}_CTI": Signal(3, name=f"{name}_cti"), f"o_{name}_BTE": Signal(2, name=f"{name}_bte"),
            })
        m.submodules.cpu = Instance("VexRiscv", **ports)
        if platform is not None and hasattr(platform, "add_file"):  # an FPGA build: the CPU's Verilog goes along
            platform.add_file(verilog_source().name, verilog_source().read_text())
        return m
