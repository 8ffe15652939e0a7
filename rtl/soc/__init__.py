"""The softcore SoC: a VexRiscv CPU running KVM's exit path and Linux's NMI handler as C firmware
(``firmware/``) against the NMI controller and SEAM sequencer as a memory-mapped peripheral."""
