"""The pyuvm environment: the NMI agent, the scoreboard, and coverage on the scoreboard's results.

item (one host cycle) -> sequence (KVM + Linux + the scenario, ``seq_lib.py``) -> driver and
monitor around the BFM (``agent.py``, ``bfm.py``) -> scoreboard (``RunChecker``) -> coverage -> test.
Only ``tb/uvm`` imports cocotb and pyuvm; the checking is plain Python (``tb/check``).
"""

from __future__ import annotations

from pyuvm import uvm_env

from tb.uvm.agent import NmiAgent
from tb.uvm.coverage import NmiCoverage
from tb.uvm.scoreboard import NmiScoreboard


class NmiEnv(uvm_env):
    def build_phase(self):
        self.agent = NmiAgent.create("agent", self)
        self.scoreboard = NmiScoreboard.create("scoreboard", self)
        self.coverage = NmiCoverage.create("coverage", self)

    def connect_phase(self):
        self.agent.driver.ap.connect(self.scoreboard.driver_export)
        self.agent.monitor.ap.connect(self.scoreboard.monitor_export)
        self.scoreboard.result_ap.connect(self.coverage.analysis_export)
