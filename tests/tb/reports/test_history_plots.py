"""The soak and the bench as data: the soak's snapshots as JSONL with a plot per configuration; the
bench's figures appended to a history with a plot over the runs."""

from __future__ import annotations

import json

from tb.flows import bench, soak


def test_soak_snapshots_are_kept_and_plotted(tmp_path, monkeypatch):
    monkeypatch.setattr(soak, "ROOT", tmp_path)
    snaps = [{"snapshot": i, "wall": 0.5 * i, "nmis": 100 * i, "passes": 10 * i, "unknown": 0, "swallow": i,
              "inversions": 0, "drops": 5 * i} for i in range(4)]
    folder = soak.record_snapshots([{"config": "legacy-late", "series": snaps, "problem": None}], "sim")
    lines = (folder / "legacy-late.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == snaps
    picture = (folder / "legacy-late.svg").read_text()
    assert "as the spec says" in picture and "nmis (300)" in picture and picture.count("<polyline") == 6


def test_bench_figures_accumulate(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "HISTORY", tmp_path / "history.jsonl")
    bench.record_history({"model": 1e6, "cocotb interactive": 2e5}, {"b >= 100k": True})
    bench.record_history({"model": 1.2e6, "cocotb interactive": 1e5}, {"b >= 100k": True})
    runs = [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().splitlines()]
    assert [r["figures"]["model"] for r in runs] == [1e6, 1.2e6] and all(r["rtl"] for r in runs)
    picture = (tmp_path / "history.svg").read_text()
    assert "over 2 run(s)" in picture and "cocotb interactive (1e+05)" in picture
