"""Golden reference model of TD enter/exit and NMI handling (shared/SPEC.md).

Pure Python; no simulator import. ``hardware`` is what the RTL implements; ``host`` and
``linux_nmi`` are the software (KVM, Linux); ``session`` plays a scenario against any
hardware; ``outcome`` computes passes, counts, inversions and losses.
"""

from .config import Config
from .hardware import HwState, Inputs, NmiHardware
from .outcome import Outcome, check_expect
from .run import run_model
from .scenario import Scenario, ScenarioFileError, load_scenario, parse_scenario
from .session import RunError, Session

__all__ = ["Config", "Inputs", "HwState", "NmiHardware", "Outcome", "check_expect", "run_model",
           "Scenario", "ScenarioFileError", "load_scenario", "parse_scenario", "RunError", "Session"]
