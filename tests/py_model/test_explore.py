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
