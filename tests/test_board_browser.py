"""The board in a real headless Chromium (Debian's ``chromium`` driven by Playwright) on the demo data.

One demo database (``tracelock demo``), its seeds (``tracelock seeds run``), and ``tracelock board`` as a
subprocess. Every page is opened at 1400 px and at a 390 px phone width and screenshotted into
``bench/out/board/`` (the CI artifact folder; gitignored) and checked to be drawn, with no console
error and no sideways scrolling on the phone. Then the story's path, once with the mouse and once with
the keyboard only: Divergence -> the flagged enterprise slice -> one of its complaint traces -> lock it
from its seed -> the case is in the lock file (``lock validate`` passes) and on the Locks page.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from board_support import running_board

sync_api = pytest.importorskip("playwright.sync_api")
Image = pytest.importorskip("PIL.Image")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (Debian package chromium)")

TRACELOCK = [sys.executable, "-m", "tracelock"]
SHOTS = Path(__file__).resolve().parent.parent / "bench" / "out" / "board"
PAGES = {
    "rollouts": "/rollouts",
    "divergence": "/divergence",
    "coverage": "/coverage?where=prompt%3Drefund-v4",
    "traces": "/traces?feedback=complaint",
    "evals": "/evals",
    "eval-compare": None,  # filled from the Eval runs page
    "seeds": "/seeds",
    "locks": "/locks",
    "trace": None,  # filled from the Traces page
}


def _run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [*TRACELOCK, "--data-dir", str(data_dir), "--database", "tracelock_demo", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    root = tmp_path_factory.mktemp("board")
    data_dir, locks = root / "data", root / "locks"
    demo = subprocess.run(
        [*TRACELOCK, "--data-dir", str(data_dir), "demo", "--in-process", "--format", "json"],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr
    seeded = _run(data_dir, "seeds", "run", "--since", "3650d", "--ignore-limits")
    assert seeded.returncode == 0, seeded.stderr
    with running_board(data_dir, locks, "--database", "tracelock_demo") as base:
        yield base, locks, data_dir


@pytest.fixture(scope="module")
def browser(served: tuple[str, Path, Path]) -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield instance
        instance.close()


class Watched:
    """A page whose console errors and uncaught exceptions are collected."""

    def __init__(self, browser: Any, width: int, height: int = 900) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def close(self) -> None:
        self.page.close()
        assert not self.errors, self.errors


def _drawn(png: Path) -> float:
    """Share of pixels that are not background white: a blank or unstyled page scores ~0."""
    image = Image.open(png).convert("L").resize((200, 200))
    data = image.tobytes()
    return sum(1 for v in data if v < 235) / len(data)


def _fill_links(page: Any, base: str) -> None:
    page.goto(base + "/traces?feedback=complaint")
    PAGES["trace"] = page.locator("a.trace-link").first.get_attribute("href")
    page.goto(base + "/evals")
    page.get_by_role("button", name="Compare case by case").click()
    PAGES["eval-compare"] = page.url.removeprefix(base)


@pytest.mark.parametrize("width", [1400, 390])
def test_every_page_renders_at_desktop_and_phone_width(
    browser: Any, served: tuple[str, Path, Path], width: int
) -> None:
    base = served[0]
    SHOTS.mkdir(parents=True, exist_ok=True)
    watched = Watched(browser, width)
    page = watched.page
    _fill_links(page, base)
    for name, path in PAGES.items():
        response = page.goto(base + str(path))
        assert response is not None and response.status == 200, (name, path)
        assert page.locator("h1").count() == 1
        png = SHOTS / f"{name}-{width}.png"
        page.screenshot(path=str(png), full_page=True)
        assert _drawn(png) > 0.02, f"{name} at {width}px looks blank"
        if name in ("divergence", "rollouts", "coverage"):
            assert page.locator("svg.chart").count() >= 1, name
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{name} scrolls sideways by {overflow}px at {width}px"
    watched.close()


def _assert_locked(served: tuple[str, Path, Path], page: Any, trace_id: str) -> None:
    base, locks, data_dir = served
    assert "/locks?" in page.url
    case_row = page.locator("tr.added")
    assert case_row.count() == 1 and trace_id[:16] in case_row.inner_text()
    text = "".join(p.read_text() for p in locks.glob("*.yaml"))
    assert f"source_trace_id: {trace_id}" in text
    validated = _run(data_dir, "lock", "validate", "--locks", str(locks))
    assert validated.returncode == 0, validated.stderr
    page.screenshot(path=str(SHOTS / "locks-after-lock.png"), full_page=True)
    page.goto(base + "/locks")
    assert trace_id[:16] in page.locator("main").inner_text()


def test_lock_a_complaint_trace_of_the_flagged_slice_with_the_mouse(
    browser: Any, served: tuple[str, Path, Path]
) -> None:
    watched = Watched(browser, 1400)
    page = watched.page
    page.goto(served[0] + "/divergence")
    flagged = page.locator("tr.slice.diverges a.slice-link")
    assert flagged.count() == 1 and flagged.inner_text() == "customer_tier=enterprise"
    flagged.click()
    assert "customer_tier%3Denterprise" in page.url and "feedback=bad" in page.url
    page.locator("a.trace-link").first.click()
    trace_id = page.url.rsplit("/", 1)[1]
    page.get_by_role("button", name="Lock this seed").first.click()
    page.wait_for_url("**/locks?*")
    _assert_locked(served, page, trace_id)
    watched.close()


def _tab_to(page: Any, selector: str, limit: int = 400) -> None:
    """Press Tab until the focused element matches ``selector`` (a keyboard user's way there)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement && document.activeElement.matches({selector!r})"):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_the_same_path_by_keyboard_only(browser: Any, served: tuple[str, Path, Path]) -> None:
    watched = Watched(browser, 1400)
    page = watched.page
    page.goto(served[0] + "/divergence")
    _tab_to(page, "tr.slice.diverges a.slice-link")
    page.keyboard.press("Enter")
    page.wait_for_url("**/traces?*")
    links = page.locator("a.trace-link")
    second = links.nth(1).get_attribute("href")
    _tab_to(page, "a.trace-link")
    page.keyboard.press("Tab")  # past the first trace (the mouse test locked it) to the second
    assert page.evaluate("document.activeElement.getAttribute('href')") == second
    page.keyboard.press("Enter")
    page.wait_for_url("**/trace/*")
    trace_id = page.url.rsplit("/", 1)[1]
    _tab_to(page, "#seeds input[name=dataset]")
    page.keyboard.type("refunds-keyboard")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Lock this seed"
    page.keyboard.press("Enter")
    page.wait_for_url("**/locks?*")
    _assert_locked(served, page, trace_id)
    watched.close()
