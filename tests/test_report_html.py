"""The HTML report renders in a real headless Chromium and its charts are drawn (checked on pixels)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tracelock.report import coverage_report, divergence_report
from tracelock.report.dimensions import resolve_dimension
from tracelock.report.html import render_html
from tracelock.report.svg import OFFLINE_COLOR, ONLINE_COLOR, SERIES_COLORS
from tracelock.store import Store

sys.path.insert(0, str(Path(__file__).parent))
from report_support import T0, eval_rows, insert_spans, live_trace

Image = pytest.importorskip("PIL.Image")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (Debian package chromium)")


def rgb(hex_color: str) -> tuple[int, int, int]:
    return tuple(int(hex_color[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def screenshot(html: str, tmp_path: Path, name: str) -> Any:
    page, png = tmp_path / f"{name}.html", tmp_path / f"{name}.png"
    page.write_text(html, encoding="utf-8")
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--window-size=1300,1900", f"--screenshot={png}", page.as_uri()],
        capture_output=True, timeout=90, check=True,
    )  # fmt: skip
    return Image.open(png).convert("RGB")


def pixels_near(image: Any, color: tuple[int, int, int], tolerance: int = 24) -> int:
    data = image.tobytes()
    return sum(
        1
        for r, g, b in zip(data[0::3], data[1::3], data[2::3], strict=True)
        if abs(r - color[0]) <= tolerance
        and abs(g - color[1]) <= tolerance
        and abs(b - color[2]) <= tolerance
    )


@pytest.fixture
def page(store: Store) -> str:
    spans: list[dict[str, Any]] = []
    n = 0
    for week, version in enumerate(("refund-v3", "refund-v4")):
        for i in range(40):
            n += 1
            tier = "enterprise" if i % 4 == 0 else "consumer"
            complaint = (tier == "enterprise" and version == "refund-v4" and i % 8 == 0) or i == 1
            at = T0 + timedelta(days=7 * week, hours=4 * i)
            spans += live_trace(n, version, tier, at, complaint=complaint, long=version == "refund-v4")
    insert_spans(store, spans)
    store.insert("eval_records", eval_rows("refund-v3", "consumer", 16, 20))
    store.insert("eval_records", eval_rows("refund-v4", "consumer", 18, 20))
    prompt, tier = resolve_dimension("prompt"), resolve_dimension("tier")
    divergence = divergence_report(store, {prompt: "refund-v3"}, {prompt: "refund-v4"}, [tier])
    coverage = coverage_report(store, [tier])
    return render_html(divergence, coverage)


def test_page_is_self_contained(page: str) -> None:
    assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page
    assert len(re.findall(r"<svg ", page)) == 3  # delta bars, complaint timeline, coverage bars
    assert 'data-chart="timeline"' in page and "<polyline" in page


def test_charts_are_drawn_in_chromium(page: str, tmp_path: Path) -> None:
    image = screenshot(page, tmp_path, "report")
    offline, online = pixels_near(image, rgb(OFFLINE_COLOR)), pixels_near(image, rgb(ONLINE_COLOR))
    second_series = pixels_near(image, rgb(SERIES_COLORS[1]))  # a slice's line in the timeline
    assert offline > 500, f"offline bars not drawn ({offline} blue pixels)"
    assert online > 1500, f"online bars/lines not drawn ({online} red pixels)"
    assert second_series > 150, f"timeline lines not drawn ({second_series} green pixels)"

    # control: the same page with its charts removed has (almost) none of those pixels
    bare = re.sub(r"<svg .*?</svg>", "", page, flags=re.S)
    control = screenshot(bare, tmp_path, "control")
    assert pixels_near(control, rgb(OFFLINE_COLOR)) < 50
    assert pixels_near(control, rgb(SERIES_COLORS[1])) < 20
