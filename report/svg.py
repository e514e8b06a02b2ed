"""Inline SVG charts drawn by hand: no JavaScript, no CDN, so a report page works offline and in a
headless browser. Two shapes are needed: paired horizontal bars around zero (offline vs online change
per slice) and lines over time with a marker (complaint rate around a rollout).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

__all__ = [
    "OFFLINE_COLOR",
    "ONLINE_COLOR",
    "SERIES_COLORS",
    "DeltaBar",
    "count_bars",
    "delta_bars",
    "line_chart",
]

OFFLINE_COLOR = "#2563eb"
ONLINE_COLOR = "#dc2626"
SERIES_COLORS = ("#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563", "#ca8a04", "#db2777")
_FONT = 'font-family="system-ui, sans-serif" font-size="12"'


@dataclass(frozen=True)
class DeltaBar:
    """One slice: offline change (percentage points, candidate - baseline) and online change."""

    label: str
    offline: float | None
    online: float | None
    online_significant: bool = False


def _fmt_pp(value: float) -> str:
    return f"{value:+.1f} pp"


def delta_bars(bars: Sequence[DeltaBar], *, offline_name: str, online_name: str, width: int = 860) -> str:
    """Paired bars per slice: offline change (blue) and online change (red), on one zero axis."""
    row_h, label_w, top = 34, 230, 34
    height = top + row_h * max(1, len(bars)) + 30
    plot_w = width - label_w - 80
    extent = max([abs(v) for b in bars for v in (b.offline, b.online) if v is not None] + [1.0])
    scale = (plot_w / 2) / extent
    zero = label_w + plot_w / 2
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="delta" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<rect x="{label_w}" y="8" width="12" height="12" fill="{OFFLINE_COLOR}"/>',
        f'<text x="{label_w + 18}" y="19" {_FONT}>{escape(offline_name)}</text>',
        f'<rect x="{label_w + 260}" y="8" width="12" height="12" fill="{ONLINE_COLOR}"/>',
        f'<text x="{label_w + 278}" y="19" {_FONT}>{escape(online_name)} (* significant)</text>',
    ]
    for i, bar in enumerate(bars):
        y = top + i * row_h
        out.append(
            f'<text x="{label_w - 8}" y="{y + 19}" text-anchor="end" {_FONT}>{escape(bar.label)}</text>'
        )
        for j, (value, color) in enumerate(((bar.offline, OFFLINE_COLOR), (bar.online, ONLINE_COLOR))):
            by = y + 4 + j * 13
            if value is None:
                out.append(f'<text x="{zero + 4}" y="{by + 10}" {_FONT} fill="#6b7280">no data</text>')
                continue
            length = abs(value) * scale
            x = zero if value >= 0 else zero - length
            out.append(
                f'<rect x="{x:.1f}" y="{by}" width="{max(length, 1.5):.1f}" height="11" fill="{color}"/>'
            )
            star = "*" if j == 1 and bar.online_significant else ""
            tx = zero + length + 4 if value >= 0 else zero - length - 4
            anchor = "start" if value >= 0 else "end"
            text = f"{_fmt_pp(value)}{star}"
            out.append(f'<text x="{tx:.1f}" y="{by + 10}" text-anchor="{anchor}" {_FONT}>{text}</text>')
    out.append(
        f'<line x1="{zero}" y1="{top - 4}" x2="{zero}" y2="{height - 24}" stroke="#111827" stroke-width="1"/>'
    )
    out.append("</svg>")
    return "\n".join(out)


def line_chart(
    series: dict[str, list[tuple[datetime, float]]],
    *,
    marker: datetime | None = None,
    marker_label: str = "rollout",
    y_label: str = "",
    width: int = 860,
    height: int = 300,
) -> str:
    """One line per series over time (y is a rate in [0, 1], drawn as %), an optional vertical marker."""
    left, right, top, bottom = 60, 170, 20, 40
    points = [p for values in series.values() for p in values]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="timeline" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    if not points:
        out += [f'<text x="{left}" y="{height / 2}" {_FONT}>no traces in the window</text>', "</svg>"]
        return "\n".join(out)
    t0 = min(t for t, _ in points).timestamp()
    t1 = max(max(t for t, _ in points).timestamp(), t0 + 1)
    y_max = max(max(v for _, v in points), 0.01) * 1.1
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(t: datetime) -> float:
        return left + (t.timestamp() - t0) / (t1 - t0) * plot_w

    def sy(v: float) -> float:
        return top + plot_h - v / y_max * plot_h

    for k in range(5):  # horizontal grid with % labels
        v = y_max * k / 4
        out.append(
            f'<line x1="{left}" y1="{sy(v):.1f}" x2="{left + plot_w}" y2="{sy(v):.1f}" stroke="#e5e7eb"/>'
        )
        out.append(
            f'<text x="{left - 6}" y="{sy(v) + 4:.1f}" text-anchor="end" {_FONT}>{v * 100:.0f}%</text>'
        )
    for k in range(5):  # time labels
        t = datetime.fromtimestamp(t0 + (t1 - t0) * k / 4, tz=min(t for t, _ in points).tzinfo)
        x = left + plot_w * k / 4
        out.append(f'<text x="{x:.1f}" y="{height - 18}" text-anchor="middle" {_FONT}>{t:%m-%d %H:%M}</text>')
    if y_label:
        out.append(f'<text x="{left}" y="{top - 6}" {_FONT} fill="#374151">{escape(y_label)}</text>')
    if marker is not None:
        x = sx(marker)
        out.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="#111827" '
            'stroke-dasharray="5,4" stroke-width="1.5"/>'
        )
        anchor, tx = ("end", x - 4) if x > left + plot_w * 0.7 else ("start", x + 4)
        out.append(
            f'<text x="{tx:.1f}" y="{top + 12}" text-anchor="{anchor}" {_FONT}>{escape(marker_label)}</text>'
        )
    for i, (name, values) in enumerate(series.items()):
        color = SERIES_COLORS[i % len(SERIES_COLORS)]
        path = " ".join(f"{sx(t):.1f},{sy(v):.1f}" for t, v in sorted(values))
        out.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2.5"/>')
        ly = top + 14 + i * 18
        out.append(f'<rect x="{left + plot_w + 12}" y="{ly - 9}" width="14" height="4" fill="{color}"/>')
        out.append(f'<text x="{left + plot_w + 32}" y="{ly - 3}" {_FONT}>{escape(name[:22])}</text>')
    out.append(
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#9ca3af"/>'
    )
    out.append("</svg>")
    return "\n".join(out)


def count_bars(
    rows: Sequence[tuple[str, int, int]], *, first_name: str, second_name: str, width: int = 860
) -> str:
    """Two counts per row on separate scales: ``first`` (red, e.g. bad traces) and ``second`` (blue)."""
    row_h, label_w, top = 34, 230, 34
    height = top + row_h * max(1, len(rows)) + 10
    plot_w = (width - label_w - 40) / 2 - 20
    max_a = max([a for _, a, _ in rows] + [1])
    max_b = max([b for _, _, b in rows] + [1])
    x_b = label_w + plot_w + 40
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="coverage" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{label_w}" y="19" {_FONT} fill="{ONLINE_COLOR}">{escape(first_name)}</text>',
        f'<text x="{x_b}" y="19" {_FONT} fill="{OFFLINE_COLOR}">{escape(second_name)}</text>',
    ]
    for i, (label, a, b) in enumerate(rows):
        y = top + i * row_h
        out.append(f'<text x="{label_w - 8}" y="{y + 19}" text-anchor="end" {_FONT}>{escape(label)}</text>')
        for x0, value, top_value, color in (
            (label_w, a, max_a, ONLINE_COLOR),
            (x_b, b, max_b, OFFLINE_COLOR),
        ):
            length = value / top_value * (plot_w - 40)
            out.append(
                f'<rect x="{x0}" y="{y + 6}" width="{max(length, 1.5):.1f}" height="18" fill="{color}"/>'
            )
            out.append(f'<text x="{x0 + length + 4:.1f}" y="{y + 19}" {_FONT}>{value}</text>')
    out.append("</svg>")
    return "\n".join(out)
