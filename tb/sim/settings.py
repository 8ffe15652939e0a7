"""The launcher–bench contract: one typed object, written once by the launcher and read once by the bench.

The launchers (``tb/sim/verilator.py``'s ``run_test`` and ``run_soak``, ``tb/flows/mcy.py``) start a
simulator process whose Python is the pyuvm/cocotb bench; ``RunSettings`` is what they tell it. It
travels as one environment variable (``TB_SETTINGS``, JSON), is validated field by field when the
bench reads it (``from_env``; a bad value is one line naming the field), and each pyuvm test puts it
in ``ConfigDB`` for its sequences and components, as pyuvm's TinyALU example passes its settings.
No module outside ``tb/sim`` reads a ``TB_*`` variable. The bench publishes its report with
``publish_result`` (whole, never half a file).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields

from py_model import config as model_config
from py_model.atomic import write_output

ENV_NAME = "TB_SETTINGS"


class SettingsError(ValueError):
    """A setting the bench cannot use (one line naming the field)."""


@dataclass(frozen=True)
class RunSettings:
    """What one simulator process runs.

    Attributes
    ----------
    test : str
        The catalog test (``make list``), or ``scenario`` for ``scenario_files``.
    seed : int
        The seed the test's scenarios are made from.
    seeds : tuple of int
        A batch of seeds in this one process (regressions, interactive mode); empty: ``seed`` alone.
    scenario_files : tuple of str
        Scenario files (``make scenario``).
    results : str or None
        Where the bench writes its report (JSON).
    hdl_clock : bool
        The toplevel's HDL drives the clock (program mode, the soak): no cocotb clock.
    strict : bool
        Interactive mode drives and samples every cycle.
    firmware : str or None
        The softcore's firmware image.
    max_cycles : int
        The run bound shared by the model and the bench (``MAX_CYCLES=``).
    soak_pins : dict
        The soak core's configuration inputs (``make soak TARGET=sim``).
    soak_config : str
        Its configuration's name, for the progress line.
    soak_seconds : float
        How long the soak runs (wall time).
    soak_divisor : int
        Clock cycles per UART bit.
    soak_period_log2 : int
        Cycles between snapshots, as a power of two.
    mutants : tuple of int
        ``make mcy``'s campaign: the mutant numbers this process runs.
    kill_tests : tuple of str
        The catalog tests that may kill them, in order.
    dump : str or None
        The wave dump this process writes (``WAVES=1``), named in every failing run's location line.
    """

    test: str = "scenario"
    seed: int = 1
    seeds: tuple[int, ...] = ()
    scenario_files: tuple[str, ...] = ()
    results: str | None = None
    hdl_clock: bool = False
    strict: bool = False
    firmware: str | None = None
    max_cycles: int = model_config.DEFAULT_RUN_CYCLE_BOUND
    soak_pins: dict = field(default_factory=dict)
    soak_config: str = ""
    soak_seconds: float = 0.0
    soak_divisor: int = 1
    soak_period_log2: int = 20
    mutants: tuple[int, ...] = ()
    kill_tests: tuple[str, ...] = ()
    dump: str | None = None

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            kind = _KINDS[f.name]
            if kind is tuple:
                item = _ITEMS[f.name]
                if not isinstance(value, (tuple, list)) or not all(_is(v, item) for v in value):
                    raise SettingsError(f"{ENV_NAME}.{f.name}: expected a list of {item.__name__}, got {value!r}")
                object.__setattr__(self, f.name, tuple(value))
            elif not _is(value, kind):
                raise SettingsError(f"{ENV_NAME}.{f.name}: expected {_name(kind)}, got {value!r}")
        if self.max_cycles < 1 or self.seed < 0 or any(s < 0 for s in self.seeds) or self.soak_divisor < 1:
            raise SettingsError(f"{ENV_NAME}: max_cycles and soak_divisor must be >= 1, seeds >= 0")

    @property
    def all_seeds(self) -> list[int]:
        return list(self.seeds) or [self.seed]

    def to_env(self) -> dict[str, str]:
        return {ENV_NAME: json.dumps(asdict(self))}

    @classmethod
    def from_env(cls, environ=None) -> RunSettings:
        """The settings the launcher gave this process (validated), applied to the model's run bound."""
        raw = (os.environ if environ is None else environ).get(ENV_NAME)
        if raw is None:
            raise SettingsError(f"{ENV_NAME} is not set: this bench is started by make sim/scenario/soak/mcy")
        try:
            data = json.loads(raw)
        except ValueError as err:
            raise SettingsError(f"{ENV_NAME}: not JSON ({err})") from None
        if not isinstance(data, dict):
            raise SettingsError(f"{ENV_NAME}: expected an object, got {type(data).__name__}")
        unknown = sorted(set(data) - set(_KINDS))
        if unknown:
            raise SettingsError(f"{ENV_NAME}: unknown setting {unknown[0]!r}")
        settings = cls(**data)
        model_config.set_run_cycle_bound(settings.max_cycles)
        return settings


def publish_result(settings: RunSettings, report: dict) -> None:
    """The bench's report, published whole where the launcher reads it (nowhere if it gave no path)."""
    if settings.results:
        write_output(settings.results, json.dumps(report))


_KINDS = {"test": str, "seed": int, "seeds": tuple, "scenario_files": tuple, "results": (str, type(None)),
          "hdl_clock": bool, "strict": bool, "firmware": (str, type(None)), "max_cycles": int, "soak_pins": dict,
          "soak_config": str, "soak_seconds": (int, float), "soak_divisor": int, "soak_period_log2": int,
          "mutants": tuple, "kill_tests": tuple, "dump": (str, type(None))}
_ITEMS = {"seeds": int, "scenario_files": str, "mutants": int, "kill_tests": str}


def _is(value, kind) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        return False  # true is not a number here
    return isinstance(value, kinds)


def _name(kind) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
