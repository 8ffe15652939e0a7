"""Property-based tests over random timelines and configurations (hypothesis)."""

from hypothesis import HealthCheck, given, settings, strategies as st

from py_model import Config, NmiHardware, RunError, Scenario, Session
from py_model.hardware import HOST

STEP = st.one_of(
    st.builds(lambda v: ("nmi", v), st.integers(0, 15)),
    st.builds(lambda n: ("wait", n), st.integers(0, 25)),
    st.just(("enter", None)),
    st.just(("fault", None)),
    st.sampled_from([("until", "guest"), ("until", "seam_root"), ("until", "host")]),
    st.sampled_from([("exit", "tdvmcall"), ("exit", "ept")]),
)
CONFIG = st.builds(
    lambda module, kvm, entry, ns, seamcall, vmentry, exit_, handler, poll: Config(
        module=module, kvm=kvm, entry=entry, nmi_source=ns and entry == "fred", seamcall=seamcall,
        vmentry=vmentry, exit=exit_, handler=handler, poll=min(poll, handler - 1)),
    st.sampled_from(["legacy", "fixed"]), st.sampled_from(["noinstr", "late"]), st.sampled_from(["idt", "fred"]),
    st.booleans(), st.integers(1, 8), st.integers(1, 4), st.integers(1, 10), st.integers(2, 12), st.integers(0, 11))


def checked_run(config, steps):
    """Run like run_model, checking hardware invariants every cycle. None if the timeline is illegal."""
    hw, session = NmiHardware(config), Session(Scenario("prop", config, steps))
    cycle, edge = 0, []
    try:
        while True:
            state = hw.state()
            inputs = session.cycle(cycle, state, edge)
            if session.done:
                return session.outcome()
            before = hw.state()
            edge = hw.step(cycle, inputs)
            for txn in edge:
                if txn.kind == "deliver":
                    assert not before.blocked, f"delivery while blocked at {cycle}"
                    assert before.phase == HOST, f"delivery outside the host at {cycle}"
            assert isinstance(hw.latch, bool)  # binary latch: a second arrival is a drop
            drops = [t for t in edge if t.kind == "drop"]
            assert not drops or before.latch
            cycle += 1
    except RunError:
        return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CONFIG, st.lists(STEP, max_size=14))
def test_no_delivery_while_blocked_and_binary_latch(config, steps):
    checked_run(config, steps)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["idt", "fred"]), st.booleans(),
       st.lists(st.tuples(st.sampled_from(["host", "seam_pre", "guest", "seam_post", "handler"]),
                          st.sampled_from([1, 3, 4, 5, 6, 7, 9, 15])), max_size=4, unique_by=lambda p: p[1]),
       st.integers(1, 8), st.integers(5, 12), st.booleans())
def test_fixed_noinstr_never_inverts_nor_loses(entry, ns, placement, seamcall, exit_, fault):
    """The fix: any timing of NMIs from distinct local sources gives no inversion and no lost event.

    SEAM-root exit work of 5+ cycles leaves room for the placed NMIs to arrive there.
    Vectors 0 and 2 and repeated vectors are left out on purpose: they give unknown NMIs or a
    pending external reason by Linux's own design (see the explore table in the README).
    """
    from py_model.explore import PHASES, timeline
    placement = sorted(placement, key=lambda p: PHASES.index(p[0]))
    steps = timeline(placement, fault)
    if steps is None:
        return
    config = Config(module="fixed", kvm="noinstr", entry=entry, nmi_source=ns and entry == "fred",
                    seamcall=seamcall, exit=exit_)
    outcome = checked_run(config, steps)
    assert outcome is not None
    assert outcome.inversions == 0, outcome.table()
    assert outcome.lost == 0, outcome.table()
    assert outcome.counts["unknown"] == 0, outcome.table()


@settings(max_examples=150, deadline=None)
@given(CONFIG, st.lists(STEP, max_size=12))
def test_idle_skipping_changes_nothing(config, steps):
    from py_model import run_model
    scenario = Scenario("prop", config, steps)
    try:
        slow = run_model(scenario, skip_idle=False).to_json()
    except RunError as err:
        slow = str(err).split(" at cycle")[0]
    try:
        fast = run_model(scenario).to_json()
    except RunError as err:
        fast = str(err).split(" at cycle")[0]
    assert fast == slow
