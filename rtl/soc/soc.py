"""The softcore SoC: VexRiscv, block RAM for the firmware, and the NMI peripheral.

Memory map (byte addresses): RAM at 0x0000_0000 (``RAM_WORDS`` words; code, data, stack); the NMI
peripheral at 0x8000_0000 (``nmi_periph.REGISTERS``). The CPU starts at 0.
"""

from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out, connect, flipped

from ..bugs import SOC_BUGS, check_bugs
from ..interfaces import ConfigSignature
from .nmi_periph import EnvSignature, MonitorSignature, NmiPeripheral
from .ram import Ram
from .vexriscv import VexRiscv

RAM_WORDS = 1024  # 4 KiB: the firmware (about 1.8 KiB), its data and stack; the linker script is generated from it
PERIPH_BASE = 0x8000_0000


class NmiSoc(wiring.Component):
    """The SoC the firmware runs on.

    Parameters
    ----------
    bugs : iterable of str
        Deliberate RTL defects in the NMI peripheral's ``NmiTop`` (``rtl.bugs.BUGS``) or in the SoC
        around it (``rtl.bugs.SOC_BUGS``).
    firmware : sequence of int
        The RAM's power-on contents (the soak board's firmware); empty: loaded through the load port.
    host_state : bool
        The NMI peripheral has the host-state register file (``NmiPeripheral``).

    Attributes
    ----------
    cfg, env, sw_cfg : In
        The hardware configuration, the environment (NMI arrivals, TD exits), the firmware's parameters.
    hold : In(1)
        Keep the CPU in reset; ``load_we``/``load_addr``/``load_data`` write the RAM meanwhile.
    mon : Out(MonitorSignature)
        The NMI peripheral's ``NmiTop`` pins, the CPU's NMI interrupt line, the firmware's log
        stores and final status, for the testbench.
    """

    cfg: In(ConfigSignature())
    env: In(EnvSignature())
    sw_cfg: In(32)
    hold: In(1)
    load_we: In(1)
    load_addr: In(range(RAM_WORDS))
    load_data: In(32)
    mon: Out(MonitorSignature())

    def __init__(self, bugs=(), firmware=(), host_state=False):
        super().__init__()
        self.host_state = host_state
        self.bugs = check_bugs(bugs, soc=True)  # an unknown defect is refused before anything is built
        self.firmware = tuple(firmware)  # the RAM's power-on contents (a board has no loader)

    def elaborate(self, platform):
        m = Module()
        m.submodules.cpu = cpu = VexRiscv(reset_vector=0)
        m.submodules.ram = ram = Ram(RAM_WORDS, self.firmware)
        m.submodules.nmi = nmi = NmiPeripheral(self.bugs - SOC_BUGS.keys(), self.host_state,
                                               soc_bugs=self.bugs & SOC_BUGS.keys())
        connect(m, cpu.ibus, ram.ibus)
        m.d.comb += [cpu.hold.eq(self.hold), cpu.irq.eq(nmi.mon.irq), ram.load_we.eq(self.load_we),
                     ram.load_addr.eq(self.load_addr), ram.load_data.eq(self.load_data)]
        connect(m, flipped(self.cfg), nmi.cfg)
        connect(m, flipped(self.env), nmi.env)
        m.d.comb += nmi.sw_cfg.eq(self.sw_cfg)
        connect(m, nmi.mon, flipped(self.mon))

        # The data bus: the top address bit selects the peripheral.
        dbus, to_periph = cpu.dbus, cpu.dbus.adr[29]
        for target, selected in ((ram.dbus, ~to_periph), (nmi.bus, to_periph)):
            m.d.comb += [target.cyc.eq(dbus.cyc & selected), target.stb.eq(dbus.stb & selected),
                         target.we.eq(dbus.we), target.adr.eq(dbus.adr), target.dat_w.eq(dbus.dat_w),
                         target.sel.eq(dbus.sel)]
        with m.If(to_periph):
            m.d.comb += [dbus.dat_r.eq(nmi.bus.dat_r), dbus.ack.eq(nmi.bus.ack)]
        with m.Else():
            m.d.comb += [dbus.dat_r.eq(ram.dbus.dat_r), dbus.ack.eq(ram.dbus.ack)]
        return m
