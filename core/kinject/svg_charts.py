"""Small inline-SVG charts for reports (no plotting library needed in a browser or a file)."""

from __future__ import annotations

import html
from collections.abc import Callable

PALETTE = ("#2f6fde", "#e8590c", "#2b8a3e", "#9c36b5", "#c92a2a", "#1098ad", "#5c940d", "#495057")


def scatter(
    points: list[tuple[str, float, float]],
    x_label: str,
    y_label: str,
    title: str,
    x_fmt: str = "{:.0%}",
    y_fmt: str = "{:.0%}",
) -> str:
    """Labelled points on two axes; ``points`` are (label, x, y)."""
    if not points:
        return ""
    w, h, pad = 420, 300, 50
    xs, ys = [p[1] for p in points], [p[2] for p in points]
    (x0, x1), (y0, y1) = _span(xs), _span(ys)
    px, py = _scales(xs, ys, w, h, pad)
    parts = [
        *_frame("chart", w, h, pad, title, x_label, y_label),
        f'<text x="{pad}" y="{h - pad + 14}" font-size="10">{x_fmt.format(x0)}</text>',
        f'<text x="{w - pad}" y="{h - pad + 14}" font-size="10" '
        f'text-anchor="end">{x_fmt.format(x1)}</text>',
        f'<text x="{pad - 4}" y="{h - pad}" font-size="10" '
        f'text-anchor="end">{y_fmt.format(y0)}</text>',
        f'<text x="{pad - 4}" y="{pad + 4}" font-size="10" '
        f'text-anchor="end">{y_fmt.format(y1)}</text>',
    ]
    for i, (label, x, y) in enumerate(points):
        color = PALETTE[i % len(PALETTE)]
        parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="6" fill="{color}"/>')
        parts.append(
            f'<text x="{px(x) + 9:.1f}" y="{py(y) + 4:.1f}" '
            f'font-size="11">{html.escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def grouped_bars(groups: dict[str, dict[str, float]], title: str) -> str:
    """Bars in [0, 1]: one group per category, one bar per series (strategy)."""
    series = sorted({s for values in groups.values() for s in values})
    if not groups or not series:
        return ""
    bar, gap, label_w, w = 12, 14, 160, 620
    h = 30 + len(groups) * (len(series) * bar + gap) + 20 * ((len(series) + 3) // 4)
    parts = [
        f'<svg class="chart" role="img" aria-label="{html.escape(title)}" width="{w}" '
        f'height="{h}">',
        f'<text x="{w / 2}" y="16" text-anchor="middle" font-size="13" '
        f'font-weight="600">{html.escape(title)}</text>',
    ]
    y = 28
    for group, values in groups.items():
        parts.append(
            f'<text x="0" y="{y + bar * len(series) / 2 + 4}" '
            f'font-size="11">{html.escape(group[:24])}</text>'
        )
        for i, name in enumerate(series):
            value = max(0.0, min(1.0, values.get(name, 0.0)))
            color = PALETTE[i % len(PALETTE)]
            parts.append(
                f'<rect x="{label_w}" y="{y}" width="{value * (w - label_w - 60):.1f}" '
                f'height="{bar - 2}" fill="{color}"/>'
            )
            parts.append(
                f'<text x="{label_w + value * (w - label_w - 60) + 4:.1f}" y="{y + bar - 3}" '
                f'font-size="10">{value:.0%}</text>'
            )
            y += bar
        y += gap
    for i, name in enumerate(series):
        lx, ly = label_w + (i % 4) * 110, y + 12 + (i // 4) * 20
        parts.append(
            f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" '
            f'fill="{PALETTE[i % len(PALETTE)]}"/>'
        )
        parts.append(f'<text x="{lx + 14}" y="{ly}" font-size="11">{html.escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    series: dict[str, list[tuple[float, float]]], x_label: str, y_label: str, title: str
) -> str:
    """Lines through (x, y) points, one per series (e.g. training and evaluation loss by step)."""
    series = {name: pts for name, pts in series.items() if pts}
    if not series:
        return ""
    w, h, pad = 620, 300, 50
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts]
    px, py = _scales(xs, ys, w, h, pad)
    parts = [
        *_frame("chart loss-curve", w, h, pad, title, x_label, y_label),
        f'<text x="{px(min(xs)):.1f}" y="{h - pad + 14}" font-size="10" '
        f'text-anchor="middle">{min(xs):g}</text>',
        f'<text x="{px(max(xs)):.1f}" y="{h - pad + 14}" font-size="10" '
        f'text-anchor="middle">{max(xs):g}</text>',
        f'<text x="{pad - 4}" y="{py(min(ys)):.1f}" font-size="10" '
        f'text-anchor="end">{min(ys):.3g}</text>',
        f'<text x="{pad - 4}" y="{py(max(ys)) + 4:.1f}" font-size="10" '
        f'text-anchor="end">{max(ys):.3g}</text>',
    ]
    for i, (name, pts) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{coords}"/>')
        if len(pts) == 1:
            parts.append(
                f'<circle cx="{px(pts[0][0]):.1f}" cy="{py(pts[0][1]):.1f}" r="4" fill="{color}"/>'
            )
        parts.append(
            f'<rect x="{w - pad - 110}" y="{28 + i * 16}" width="10" height="10" fill="{color}"/>'
        )
        parts.append(
            f'<text x="{w - pad - 96}" y="{37 + i * 16}" font-size="11">{html.escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _frame(css: str, w: int, h: int, pad: int, title: str, x_label: str, y_label: str) -> list[str]:
    """The opening of a two-axis chart: the svg element, its title, both axes and their labels."""
    return [
        f'<svg class="{css}" role="img" aria-label="{html.escape(title)}" width="{w}" '
        f'height="{h}">',
        f'<text x="{w / 2}" y="16" text-anchor="middle" font-size="13" '
        f'font-weight="600">{html.escape(title)}</text>',
        f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="#888"/>',
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{h - pad}" stroke="#888"/>',
        f'<text x="{w / 2}" y="{h - 12}" text-anchor="middle" '
        f'font-size="11">{html.escape(x_label)}</text>',
        f'<text x="14" y="{h / 2}" font-size="11" transform="rotate(-90 14 {h / 2})" '
        f'text-anchor="middle">{html.escape(y_label)}</text>',
    ]


def _scales(
    xs: list[float], ys: list[float], w: int, h: int, pad: int
) -> tuple[Callable[[float], float], Callable[[float], float]]:
    """Data -> pixel maps for x and y, over the values' spans with a margin (y grows upwards)."""
    (x0, x1), (y0, y1) = _span(xs), _span(ys)
    return (
        lambda v: pad + (v - x0) / (x1 - x0) * (w - 2 * pad),
        lambda v: h - pad - (v - y0) / (y1 - y0) * (h - 2 * pad),
    )


def _span(values: list[float]) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.05 * (abs(lo) or 1), hi + 0.05 * (abs(hi) or 1)
    margin = (hi - lo) * 0.1
    return lo - margin, hi + margin
