"""Sequences: the host software (KVM's run loop, Linux's NMI handler) and the scenario's environment
(NMI arrivals, TD exits) as a reactive sequence of host-cycle items.

Each item's response (the state the host sees next, and the edge's transactions) feeds
``py_model.Session``, which decides the next cycle's actions exactly as it does against the
reference in ``run_model``.
"""

from __future__ import annotations

from pyuvm import ConfigDB, uvm_sequence

from py_model.session import HostLoop
from tb.stimulus.catalog import planned
from tb.uvm.items import HostCycleItem, IdleItem, RunEndItem, RunStartItem


class CatalogSeq(uvm_sequence):
    """The scenarios of the catalog test named in ConfigDB ("TEST"), at each seed of the run's
    settings (ConfigDB "SETTINGS"): a regression runs a batch of seeds in one simulator process."""

    def plan(self):
        """([(seed, scenario)], verdict function) this sequence runs: made once (random scenarios are
        generated, library files loaded), read by the test to count the runs it expects."""
        if getattr(self, "_plan", None) is None:
            self._plan = self.planned()
        return self._plan

    def planned(self):
        settings = ConfigDB().get(None, "", "SETTINGS")
        test, runs, verdict = ConfigDB().get(None, "", "TEST"), [], None
        for seed in settings.all_seeds:
            scenarios, verdict = planned(test, seed)
            runs += [(seed, scenario) for scenario in scenarios]
        return runs, verdict

    async def body(self):
        runs, verdict = self.plan()
        for index, (seed, scenario) in enumerate(runs, 1):
            await self.run_scenario(scenario, verdict, seed, index, len(runs))

    async def run_scenario(self, scenario, verdict, seed, run: int = 1, runs: int = 1) -> None:
        start = RunStartItem(scenario.name, scenario, verdict, seed, run, runs)
        await self.start_item(start)
        await self.finish_item(start)
        loop, state, edge = HostLoop(scenario), start.state, []
        strict = ConfigDB().get(None, "", "SETTINGS").strict
        while True:
            cycle = loop.cycle
            inputs = loop.step(state, edge)
            if inputs is None:
                break
            item = HostCycleItem(f"{scenario.name}@{cycle}", cycle, inputs)
            await self.start_item(item)
            await self.finish_item(item)
            state, edge = item.state, item.edge
            # The session only counts for a while: let the simulator run until the design acts
            # (its trace.wake) or the session would (within the run bound, so a hang still ends).
            quiet = 0 if strict else loop.quiet_stretch(inputs, edge, state)
            if quiet > 0:
                idle = IdleItem(f"{scenario.name}@{loop.cycle}", loop.cycle, quiet)
                await self.start_item(idle)
                await self.finish_item(idle)
                loop.skip(idle.woke - loop.cycle, state)
                state, edge = idle.state, idle.edge
        end = RunEndItem(f"{scenario.name}:end", loop.session, loop.cycle, loop.error)
        await self.start_item(end)
        await self.finish_item(end)


class ScenarioFileSeq(CatalogSeq):
    """Scenario files (the settings' ``scenario_files``: ``make scenario``) instead of a catalog entry."""

    def planned(self):
        scenarios, verdict = planned("scenario", 0, ConfigDB().get(None, "", "SETTINGS").scenario_files)
        return [(None, scenario) for scenario in scenarios], verdict
