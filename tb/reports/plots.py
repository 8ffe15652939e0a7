"""Line charts as plain SVG (no plotting library): the soak's counters over time, the bench's and the
regressions' figures over their history. One function, ``line_chart``; every series on one set of axes
(or, with ``normalise``, each scaled to its own maximum so that counters of different sizes share a
chart and "still growing" reads as a rising line)."""

from __future__ import annotations

from xml.sax.saxutils import escape

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def line_chart(title: str, series: dict[str, list[tuple[float, float]]], xlabel: str, ylabel: str,
               normalise: bool = False, width: int = 720, height: int = 320) -> str:
    """``series``: {name: [(x, y), ...]}. Returns the SVG text."""
    left, right, top, bottom = 70, 170, 34, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    points = [p for values in series.values() for p in values]
    xs = [x for x, _ in points] or [0.0, 1.0]
    x0, x1 = min(xs), max(xs)
    x1 = x1 if x1 > x0 else x0 + 1
    scaled = {}
    for name, values in series.items():
        peak = max((abs(y) for _, y in values), default=0) or 1
        scaled[name] = [(x, y / peak) for x, y in values] if normalise else list(values)
    ys = [y for values in scaled.values() for _, y in values] or [0.0, 1.0]
    y0, y1 = min(0.0, min(ys)), max(ys)
    y1 = y1 if y1 > y0 else y0 + 1

    def px(x):
        return left + (x - x0) / (x1 - x0) * plot_w

    def py(y):
        return top + plot_h - (y - y0) / (y1 - y0) * plot_h

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
           'font-size="11">', f'<text x="{left}" y="20" font-size="13">{escape(title)}</text>',
           f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>',
           f'<text x="{left + plot_w / 2:.0f}" y="{height - 10}" text-anchor="middle">{escape(xlabel)}</text>',
           f'<text x="14" y="{top + plot_h / 2:.0f}" transform="rotate(-90 14 {top + plot_h / 2:.0f})" '
           f'text-anchor="middle">{escape(ylabel + (" (each series / its maximum)" if normalise else ""))}</text>']
    for i in range(5):
        xv, yv = x0 + (x1 - x0) * i / 4, y0 + (y1 - y0) * i / 4
        out.append(f'<text x="{px(xv):.0f}" y="{top + plot_h + 14}" text-anchor="middle">{xv:.4g}</text>')
        out.append(f'<text x="{left - 4}" y="{py(yv) + 4:.0f}" text-anchor="end">{yv:.4g}</text>')
    for i, (name, values) in enumerate(scaled.items()):
        colour = COLOURS[i % len(COLOURS)]
        if values:
            path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in values)
            out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.8"/>')
            if len(values) == 1:
                x, y = values[0]
                out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>')
        last = series[name][-1][1] if series[name] else "-"
        out.append(f'<rect x="{left + plot_w + 12}" y="{top + 16 * i}" width="10" height="10" fill="{colour}"/>'
                   f'<text x="{left + plot_w + 26}" y="{top + 9 + 16 * i}">{escape(name)} ({last:,.4g})</text>'
                   if not isinstance(last, str) else
                   f'<text x="{left + plot_w + 26}" y="{top + 9 + 16 * i}">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out)
