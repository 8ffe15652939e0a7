"""The exploration's headline: the fix removes every inversion (late handling only under FRED or
without faults); the legacy module always shows them."""

from py_model.explore import explore, ordered_by_design


def test_explore_two_nmis():
    rows, _, runs = explore(max_nmis=2)
    assert runs == 24 * rows[0].tried and len(rows) == 24
    for row in rows:
        if ordered_by_design(row.config, row.fault):
            assert row.inversion == 0, row.label()
        else:
            assert row.inversion > 0, row.label()
        if ordered_by_design(row.config, row.fault):
            assert not any(cause.endswith(": other") for cause in row.unknown_causes), row.unknown_causes


def test_explore_zero_step_with_interrupt_exits():
    """B6 with interrupt exits in play: the legacy module still inverts wherever an NMI exit reaches
    KVM with an NMI waiting in SEAM root; the fixed module never does; an interrupt exit after the
    window reaches KVM as itself, so nothing can invert."""
    from py_model.explore import INTERRUPT_PLACEMENTS, explore_zero_step

    rows, runs = explore_zero_step(max_nmis=2)
    assert runs > 3000 and len(rows) == 24 * len(INTERRUPT_PLACEMENTS) // 2
    for label, interrupt, tried, inversion, _, _ in rows:
        assert tried > 0
        if label.startswith("fixed") or interrupt == "after_window":
            assert inversion == 0, (label, interrupt)
        else:
            assert inversion > 0, (label, interrupt)
