"""Functional coverage as a ``uvm_subscriber`` of the scoreboard's results (the cover model itself
is ``tb/reports/coverage.py``, shared with the regression's merge)."""

from __future__ import annotations

from pyuvm import uvm_subscriber

from tb.reports import coverage


class NmiCoverage(uvm_subscriber):
    def build_phase(self):
        self.runs = 0

    def write(self, result):
        coverage.sample_run(result.row())
        self.runs += 1

    def summary(self) -> dict:
        return coverage.summary()["total"]
