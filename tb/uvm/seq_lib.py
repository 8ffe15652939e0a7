"""Sequences: the host software (KVM's run loop, Linux's NMI handler) and the scenario's environment
(NMI arrivals, TD exits) as a reactive sequence of host-cycle items.

Each item's response (the state the host sees next, and the edge's transactions) feeds
``py_model.Session``, which decides the next cycle's actions exactly as it does against the
reference in ``run_model``.
"""

from __future__ import annotations

import os

from pyuvm import ConfigDB, uvm_sequence

from py_model import RunError, Session
from py_model.config import beyond_bound, run_cycle_bound
from tb.stimulus.catalog import planned
from tb.uvm.items import HostCycleItem, RunEndItem, RunStartItem


class CatalogSeq(uvm_sequence):
    """The scenarios of the catalog test named in ConfigDB ("TEST"), at the seed in ConfigDB ("SEED")."""

    def plan(self):
        """(scenarios, verdict function) this sequence runs: made once (random scenarios are
        generated, library files loaded), read by the test to count the runs it expects."""
        if getattr(self, "_plan", None) is None:
            self._plan = self.planned()
        return self._plan

    def planned(self):
        return planned(ConfigDB().get(None, "", "TEST"), ConfigDB().get(None, "", "SEED"))

    async def body(self):
        scenarios, verdict = self.plan()
        for scenario in scenarios:
            await self.run_scenario(scenario, verdict)

    async def run_scenario(self, scenario, verdict) -> None:
        start = RunStartItem(scenario.name, scenario, verdict)
        await self.start_item(start)
        await self.finish_item(start)
        session, state, edge, error, bound = Session(scenario), start.state, [], None, run_cycle_bound()
        for cycle in range(bound + 1):
            try:
                inputs = session.cycle(cycle, state, edge)
            except RunError as err:
                error = str(err)
                break
            if session.done:
                break
            item = HostCycleItem(f"{scenario.name}@{cycle}", cycle, inputs)
            await self.start_item(item)
            await self.finish_item(item)
            state, edge = item.state, item.edge
        else:
            error = beyond_bound(scenario.name, bound)
        end = RunEndItem(f"{scenario.name}:end", session, cycle, error)
        await self.start_item(end)
        await self.finish_item(end)


class ScenarioFileSeq(CatalogSeq):
    """Scenario files (TB_SCENARIO, set by ``make scenario``) instead of a catalog entry."""

    def planned(self):
        return planned("scenario", 0, os.environ["TB_SCENARIO"].split(os.pathsep))
