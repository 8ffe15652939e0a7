"""The exploration's headline: the fix removes every inversion; the legacy module always shows them."""

from py_model.explore import explore


def test_explore_two_nmis():
    rows, _, runs = explore(max_nmis=2)
    assert runs == 24 * rows[0].tried and len(rows) == 24
    for row in rows:
        fixed_safe = row.config.module == "fixed" and (row.config.kvm == "noinstr" or not row.fault)
        if fixed_safe:
            assert row.inversion == 0, row.label()
        else:
            assert row.inversion > 0, row.label()
        if row.config.module == "fixed" and row.config.kvm == "noinstr":
            assert set(row.unknown_causes) <= {
                "vector 0 (no source: nothing can claim it)",
                "same-vector coalescing (two NMIs, one status bit)",
                "external reason (vector 2) left pending: Linux reads the port only when no local handler claimed"}
