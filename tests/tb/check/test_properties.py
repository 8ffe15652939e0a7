"""Property-based tests over random timelines and configurations (hypothesis)."""

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from py_model import Config, NmiHardware, RunError, Scenario, Session
from py_model.explore import PHASES, ordered_by_design, timeline
from tb.benches.amaranth_bench import run_on_amaranth
from tb.check.invariants import InvariantChecker

STEP = st.one_of(
    st.builds(lambda v: ("nmi", v), st.integers(0, 15)),
    st.builds(lambda n: ("wait", n), st.integers(0, 25)),
    st.just(("enter", None)),
    st.just(("fault", None)),
    st.sampled_from([("until", "guest"), ("until", "seam_root"), ("until", "host")]),
    st.sampled_from([("exit", "tdvmcall"), ("exit", "ept")]),
)
def configs(min_seamcall: int, min_exit: int):
    """Every configuration, with SEAM-root windows of at least the given lengths."""
    return st.builds(
        lambda module, kvm, entry, ns, seamcall, vmentry, exit_, handler, poll: Config(
            module=module, kvm=kvm, entry=entry, nmi_source=ns and entry == "fred", seamcall=seamcall,
            vmentry=vmentry, exit=exit_, handler=handler, poll=min(poll, handler - 1)),
        st.sampled_from(["legacy", "fixed"]), st.sampled_from(["noinstr", "late"]), st.sampled_from(["idt", "fred"]),
        st.booleans(), st.integers(min_seamcall, 8), st.integers(1, 4), st.integers(min_exit, 10), st.integers(2, 12),
        st.integers(0, 11))


CONFIG = configs(1, 1)
# A legal timeline: 1..3 TD entries, each with 1..3 NMIs placed in phases (explore's placements),
# any vector, with or without a fault. Every such timeline must run to its end, given SEAM-root
# windows long enough for three NMIs placed in them to arrive there.
LEGAL_CONFIG = configs(3, 5)
PLACEMENT = st.lists(st.tuples(st.sampled_from(PHASES), st.integers(0, 15)), min_size=1, max_size=3)
EPISODES = st.lists(st.tuples(PLACEMENT, st.booleans()), min_size=1, max_size=3)


def legal_timeline(episodes) -> list:
    steps = []
    for placement, fault in episodes:
        placement = sorted(placement, key=lambda p: PHASES.index(p[0]))
        if timeline(placement, fault) is None:  # a handler NMI needs a pass after SEAMRET: exit the TD first
            placement = [("guest", 3)] + placement
        steps += timeline(placement, fault)
    return steps


def checked_run(config, steps):
    """Run like run_model, with the reference-free invariants (tb/check/invariants.py) on the model's own
    states and transactions every cycle. Raises RunError if the timeline cannot run."""
    hw, session = NmiHardware(config), Session(Scenario("prop", config, steps))
    invariants = InvariantChecker(config)
    cycle, edge = 0, []
    while True:
        state = hw.state()
        invariants.state(cycle, state)
        for txn in edge:
            invariants.txn(txn)
        invariants.edge(cycle - 1, edge)
        assert not invariants.violations, invariants.violations
        inputs = session.cycle(cycle, state, edge)
        if session.done:
            return session.outcome()
        edge = hw.step(cycle, inputs)
        cycle += 1


def accounted_for(outcome) -> bool:
    """Every arrival is in a pass: delivered, consumed by an NMI exit and handled by KVM, or merged
    into the latched NMI it found (a drop, A2). No NMI vanishes without a trace."""
    return set(outcome.arrival_vector) == {a for p in outcome.passes for a in p.arrivals}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LEGAL_CONFIG, EPISODES)
def test_legal_timelines_keep_every_invariant(config, episodes):
    """Legal timelines always run to the end, deliver or exit for every NMI, and keep the hardware's
    invariants (no delivery while blocked, binary latch, bitmap, blocking after IRET and SEAMRET,
    delivery on the edge an NMI becomes deliverable)."""
    outcome = checked_run(config, legal_timeline(episodes))
    kinds = {t.kind for t in outcome.trace}
    assert outcome.passes, outcome.table()  # at least one NMI was placed: some pass must run
    assert kinds & {"deliver", "exit"} and kinds & {"latch", "exit"}, sorted(kinds)
    assert accounted_for(outcome), outcome.table()


@settings(max_examples=200, deadline=None)
@given(CONFIG, st.lists(STEP, max_size=14))
def test_any_timeline_runs_or_fails_cleanly(config, steps):
    """Arbitrary step lists (many illegal) end in an outcome or a RunError, never another exception,
    and every run that ends keeps the invariants."""
    try:
        checked_run(config, steps)
    except RunError:
        pass


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(LEGAL_CONFIG, EPISODES)
def test_legal_timelines_on_the_rtl(config, episodes):
    """A sample of the same timelines on the RTL (amaranth.sim): cycle-exact against the reference,
    equal to the model-alone run, and no invariant broken."""
    result = run_on_amaranth(Scenario("prop-rtl", config, legal_timeline(episodes)))
    assert result.ok, result.failure
    assert result.violations == [], result.violations


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["noinstr", "late"]), st.sampled_from(["idt", "fred"]), st.booleans(),
       st.lists(st.tuples(st.sampled_from(PHASES), st.sampled_from([1, 3, 4, 5, 6, 7, 9, 15])),
                max_size=4, unique_by=lambda p: p[1]),
       st.integers(1, 8), st.integers(5, 12), st.booleans())
def test_fix_never_inverts_nor_loses(kvm, entry, ns, placement, seamcall, exit_, fault):
    """The fix: any timing of NMIs from distinct local sources gives no inversion, no lost event and
    no unknown NMI with KVM's pass in the noinstr region; with late handling too, when nothing faults
    or when FRED keeps NMIs blocked across the fault's return.

    SEAM-root exit work of 5+ cycles leaves room for the placed NMIs to arrive there.
    Vectors 0 and 2 and repeated vectors are left out on purpose: they give unknown NMIs or a
    pending external reason by Linux's own design (see the explore table in docs/explore.md).
    """
    config = Config(module="fixed", kvm=kvm, entry=entry, nmi_source=ns and entry == "fred",
                    seamcall=seamcall, exit=exit_)
    assume(ordered_by_design(config, fault))
    # One NMI arrives per cycle: those placed before VM entry must fit in SEAMCALL + VMENTRY, else the
    # last ones arrive in the TD, which their latched predecessor already exits (hypothesis found it).
    assume(sum(phase == "seam_pre" for phase, _ in placement) <= config.seamcall + config.vmentry)
    placement = sorted(placement, key=lambda p: PHASES.index(p[0]))
    steps = timeline(placement, fault)
    assume(steps is not None)
    outcome = checked_run(config, steps)
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
