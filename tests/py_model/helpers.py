"""Small helpers to write model tests as inline timelines."""

from py_model import Config, Scenario, run_model


def steps(*items):
    out = []
    for item in items:
        if isinstance(item, str):
            out.append((item, None))
        else:
            (kind, value), = item.items()
            out.append((kind, value))
    return out


def run(timeline, **config):
    return run_model(Scenario("test", Config(**config), steps(*timeline)))


RACE = ["enter", {"until": "guest"}, {"nmi": 3}, {"until": "seam_root"}, {"nmi": 5}, {"until": "host"}, {"wait": 30}]


def brief(outcome):
    return [(p.via, p.rip, p.claimed, p.result) for p in outcome.passes]


def kinds(outcome):
    return [t.kind for t in outcome.trace]
