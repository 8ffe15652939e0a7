"""The Verilog index: the same RTL sources give the Verilog again without elaborating; a damaged
entry or file is never used."""

from rtl import generate as gen


def test_the_index_finds_the_verilog_again_and_never_trusts_a_damaged_entry(tmp_path, monkeypatch):
    first, digest = gen.generate(out_dir=tmp_path)
    calls = []
    real = gen._generate
    monkeypatch.setattr(gen, "_generate", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert gen.generate(out_dir=tmp_path) == (first, digest) and not calls  # found through the index
    text = first.read_text()
    first.write_text(text + "// damaged\n")
    assert gen.generate(out_dir=tmp_path) == (first, digest) and len(calls) == 1
    assert first.read_text() == text  # the damaged file was written again
    for entry in (tmp_path / "index").iterdir():
        entry.write_text("garbage")
    assert gen.generate(out_dir=tmp_path) == (first, digest) and len(calls) == 2
    assert gen.generate(bugs=("latch_counts",), out_dir=tmp_path)[1] != digest  # a defect is another key
