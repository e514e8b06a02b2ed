"""The HTML charts at minute, hour and day scale, laid out by a real headless Chromium.

Chromium loads each chart with a measuring script appended (test-only: the report itself has no script)
that writes every text element's box, as Chromium lays it out, into the page; ``--dump-dom`` returns it.
Time-axis labels are the timeline's texts on the bottom row (y = height - 18).
Then: the time axis has several ticks, no two tick labels overlap, no label is clipped by the chart's
edge, and every series is drawn (dots counted, pixels counted on a screenshot).

Checked failing on a11d664: five minutes of data gave a time axis of five labels reading the same minute
("12-01 20:01" twice, overlapping) and a series of one bucket drew nothing (a one-point polyline); long
slice labels ran past the left edge.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tracelock.report import divergence_report
from tracelock.report.dimensions import resolve_dimension
from tracelock.report.html import render_html
from tracelock.report.svg import SERIES_COLORS, DeltaBar, delta_bars, line_chart
from tracelock.store import Store

sys.path.insert(0, str(Path(__file__).parent))
from report_support import insert_spans, live_trace
from test_report_html import pixels_near, rgb, screenshot

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (Debian package chromium)")

START = datetime(2026, 12, 1, 20, 0, 7, tzinfo=timezone.utc)
MEASURE = """<pre id="boxes"></pre><script>
const out = [];
for (const svg of document.querySelectorAll("svg")) {
  const frame = svg.getBoundingClientRect();
  for (const el of svg.querySelectorAll("text")) {
    const b = el.getBoundingClientRect();
    const axis = svg.dataset.chart === "timeline" && parseFloat(el.getAttribute("y")) === frame.height - 18;
    out.push({chart: svg.dataset.chart, cls: axis ? "tick" : "", text: el.textContent,
              left: b.left - frame.left, right: b.right - frame.left, top: b.top - frame.top,
              bottom: b.bottom - frame.top, width: frame.width, height: frame.height});
  }
}
document.getElementById("boxes").textContent = JSON.stringify(out);
</script>"""
LONG = "customer.tier=enterprise-with-a-very-long-contract-name, intent=refund_request_for_annual_plans"


def measure(html: str, tmp_path: Path, name: str) -> list[dict[str, Any]]:
    page = tmp_path / f"{name}.html"
    page.write_text(html.replace("</body>", MEASURE + "</body>") if "</body>" in html else html + MEASURE)
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=90, check=True,
    )  # fmt: skip
    found = re.search(r'<pre id="boxes">(.*?)</pre>', done.stdout, re.S)
    assert found, done.stdout[-500:]
    boxes: list[dict[str, Any]] = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    return boxes


def series(span: timedelta, points: int) -> dict[str, list[tuple[datetime, float]]]:
    step = span / max(points - 1, 1)
    times = [START + step * i for i in range(points)]
    return {
        "all traffic": [(t, 0.02 + 0.01 * (i % 3)) for i, t in enumerate(times)],
        LONG: [(t, 0.05 + 0.02 * (i % 2)) for i, t in enumerate(times)],
        "consumer": [(times[-1], 0.03)],  # one bucket only: must still show
    }


@pytest.mark.parametrize(
    ("scale", "span", "points"),
    [("seconds", timedelta(seconds=20), 3), ("minutes", timedelta(minutes=5), 30),
     ("hours", timedelta(hours=6), 36), ("days", timedelta(days=14), 14)],
)  # fmt: skip
def test_time_axis_and_series_at_each_scale(scale: str, span: timedelta, points: int, tmp_path: Path) -> None:
    data = series(span, points)
    chart = line_chart(data, marker=START + span / 2, y_label="complaint rate")
    bars = delta_bars([DeltaBar(LONG, 4.0, 12.5, True)], offline_name="offline", online_name="online")
    html = f"<!DOCTYPE html><html><body>{chart}{bars}</body></html>"
    boxes = measure(html, tmp_path, scale)
    ticks = sorted((b for b in boxes if b["cls"] == "tick"), key=lambda b: b["left"])
    assert len(ticks) >= 3, [t["text"] for t in ticks]
    assert len({t["text"] for t in ticks}) == len(ticks), "two ticks read the same"
    for a, b in itertools.pairwise(ticks):
        assert a["right"] + 4 <= b["left"], f"tick labels overlap at {scale}: {a['text']!r} / {b['text']!r}"
    for box in boxes:  # nothing clipped by the chart's edges
        assert box["left"] >= 0 and box["right"] <= box["width"] + 0.5, (scale, box["text"], box)
        assert box["top"] >= 0 and box["bottom"] <= box["height"] + 0.5, (scale, box["text"], box)
    assert chart.count("<circle") == sum(len(v) for v in data.values())
    image = screenshot(html, tmp_path, f"{scale}-shot")
    assert pixels_near(image, rgb(SERIES_COLORS[2])) > 20, "the one-bucket series is not drawn"
    assert pixels_near(image, rgb(SERIES_COLORS[1])) > 150, "the long-named series is not drawn"


def test_a_report_over_five_minutes_of_traffic_draws_its_timeline(store: Store, tmp_path: Path) -> None:
    spans: list[dict[str, Any]] = []
    for i in range(60):
        version = "refund-v3" if i < 30 else "refund-v4"
        at = START + timedelta(seconds=5 * i)
        spans += live_trace(i + 1, version, "enterprise" if i % 3 else "consumer", at, complaint=i % 4 == 0)
    insert_spans(store, spans)
    prompt, tier = resolve_dimension("prompt"), resolve_dimension("tier")
    report = divergence_report(store, {prompt: "refund-v3"}, {prompt: "refund-v4"}, [tier])
    assert len({row["bucket"] for row in report.timeline}) >= 10  # 10 s buckets, not one 60 s bucket
    page = render_html(report)
    timeline = re.search(r'<svg [^>]*data-chart="timeline".*?</svg>', page, re.S)
    assert timeline and timeline.group(0).count("<circle") >= 10
    ticks = [b for b in measure(page, tmp_path, "report") if b["cls"] == "tick"]
    assert len(ticks) >= 3 and len({t["text"] for t in ticks}) == len(ticks)
