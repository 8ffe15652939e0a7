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
            assert not any(cause.endswith(": other") for cause in row.unknown_causes), row.unknown_causes
