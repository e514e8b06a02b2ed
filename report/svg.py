"""Inline SVG charts drawn by hand: no JavaScript, no CDN, so a report page works offline and in a
headless browser. Two shapes are needed: paired horizontal bars around zero (offline vs online change
per slice) and lines over time with a marker (complaint rate around a rollout).

The time axis works at any scale: ticks fall on round instants (10 s to 7 days apart, as few as keep
their labels from touching), labels show seconds, minutes or dates as the step needs, a window shorter
than a minute is padded so its points are not squeezed onto the axis, and every point is also drawn as a
dot, so a series of one bucket (minutes of data) still shows. Labels that would run past the chart's
edge are shortened with an ellipsis, the full text kept in a ``<title>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape

__all__ = [
    "OFFLINE_COLOR",
    "ONLINE_COLOR",
    "SERIES_COLORS",
    "DeltaBar",
    "count_bars",
    "delta_bars",
    "fit",
    "line_chart",
    "time_ticks",
]

OFFLINE_COLOR = "#2563eb"
ONLINE_COLOR = "#dc2626"
SERIES_COLORS = ("#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563", "#ca8a04", "#db2777")
_FONT = 'font-family="system-ui, sans-serif" font-size="12"'
#: Width of one character of _FONT, generously (for fitting labels; real glyphs are narrower).
_CHAR_PX = 7.2
#: Candidate distances between time ticks, in seconds.
_TICK_STEPS = (10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 3 * 3600, 6 * 3600, 12 * 3600, 86400,
               2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400)  # fmt: skip
_MIN_SPAN = 60.0  # seconds: a shorter window is padded to this


def fit(text: str, pixels: float) -> str:
    """``text`` as an SVG text body that fits ``pixels``: shortened with an ellipsis (full text kept as a
    tooltip) when it would not."""
    limit = max(1, int(pixels / _CHAR_PX))
    if len(text) <= limit:
        return escape(text)
    return f"<title>{escape(text)}</title>{escape(text[: limit - 1])}…"


def _text(x: float, y: float, body: str, anchor: str = "start", css: str = "") -> str:
    """A text element; ``body`` is already escaped (see :func:`fit`)."""
    klass = f' class="{css}"' if css else ""
    return f'<text{klass} x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {_FONT}>{body}</text>'


def time_ticks(t0: float, t1: float, plot_w: float) -> list[tuple[float, str]]:
    """(epoch seconds, label) of round instants in [t0, t1], spaced so their labels do not touch."""
    span = max(t1 - t0, 1.0)
    for step in _TICK_STEPS:
        if step < 60:
            fmt = "%H:%M:%S"
        elif step < 86400:
            fmt = "%H:%M"
        else:
            fmt = "%m-%d"
        width = len(datetime(2026, 12, 31, 23, 59, 59).strftime(fmt)) * _CHAR_PX + 12
        # the extra text: the date where the day changes (sub-day steps), the year on the first tick
        dates = len("2026-") * _CHAR_PX if step >= 86400 else len("12-31 ") * _CHAR_PX * (span // 86400 + 1)
        if (span / step + 1) * width + dates <= plot_w or step == _TICK_STEPS[-1]:
            break
    first = (int(t0) // step + (1 if int(t0) % step else 0)) * step
    ticks: list[tuple[float, str]] = []
    previous_day = ""
    for epoch in range(first, int(t1) + 1, step):
        moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
        day = f"{moment:%m-%d}"
        label = f"{moment:{fmt}}"
        if step >= 86400:
            label = f"{moment:%Y}-{label}" if not ticks else label
        elif day != previous_day:  # a date where the day changes (and at the start)
            label = f"{day} {label}"
        previous_day = day
        ticks.append((float(epoch), label))
    return ticks


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
        out.append(_text(label_w - 8, y + 19, fit(bar.label, label_w - 16), "end"))
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
    t1 = max(t for t, _ in points).timestamp()
    if t1 - t0 < _MIN_SPAN:  # seconds of data: pad around it rather than pin it to the axis
        middle = (t0 + t1) / 2
        t0, t1 = middle - _MIN_SPAN / 2, middle + _MIN_SPAN / 2
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
    for epoch, label in time_ticks(t0, t1, plot_w):  # time ticks on round instants
        x = left + (epoch - t0) / (t1 - t0) * plot_w
        out.append(
            f'<line x1="{x:.1f}" y1="{top + plot_h}" x2="{x:.1f}" y2="{top + plot_h + 4}" stroke="#9ca3af"/>'
        )
        out.append(_text(x, height - 18, escape(label), "middle", "tick"))
    if y_label:
        out.append(f'<text x="{left}" y="{top - 6}" {_FONT} fill="#374151">{escape(y_label)}</text>')
    if marker is not None and t0 <= marker.timestamp() <= t1:
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
        ordered = sorted(values)
        path = " ".join(f"{sx(t):.1f},{sy(v):.1f}" for t, v in ordered)
        out.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2.5"/>')
        out += [f'<circle cx="{sx(t):.1f}" cy="{sy(v):.1f}" r="3" fill="{color}"/>' for t, v in ordered]
        ly = top + 14 + i * 18
        out.append(f'<rect x="{left + plot_w + 12}" y="{ly - 9}" width="14" height="4" fill="{color}"/>')
        out.append(f'<text x="{left + plot_w + 32}" y="{ly - 3}" {_FONT}>{fit(name, right - 40)}</text>')
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
        out.append(_text(label_w - 8, y + 19, fit(label, label_w - 16), "end"))
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
