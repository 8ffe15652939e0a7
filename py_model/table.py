"""Plain-text tables: columns padded to their widest cell, written once for every report."""

from __future__ import annotations


def table_lines(rows) -> list[str]:
    """``rows`` (the header first) as lines, each cell padded to its column's width, no trailing space."""
    rows = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def table_text(rows) -> str:
    return "\n".join(table_lines(rows))
