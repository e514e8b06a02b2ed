"""docs/semconv.md is generated from the registry; this fails when someone changes one without the other."""

from __future__ import annotations

from pathlib import Path

from tracelock.semconv import ALIASES, KEYS
from tracelock.semconv.__main__ import main
from tracelock.semconv.docs import render_markdown

PAGE = Path(__file__).resolve().parent.parent / "docs" / "semconv.md"


def test_reference_page_is_up_to_date() -> None:
    assert PAGE.exists(), "run `python -m tracelock.semconv` to generate docs/semconv.md"
    assert PAGE.read_text() == render_markdown(), (
        "docs/semconv.md is stale: run `python -m tracelock.semconv`"
    )


def test_page_lists_every_key_and_alias() -> None:
    text = render_markdown()
    for key in KEYS:
        assert f"`{key.name}" in text, key.name
    for alias in ALIASES:
        assert f"| `{alias.name}` | `{alias.canonical}` |" in text, alias.name


def test_check_mode_detects_a_stale_page(tmp_path, capsys) -> None:
    page = tmp_path / "semconv.md"
    assert main(["--output", str(page)]) == 0
    assert main(["--output", str(page), "--check"]) == 0
    page.write_text(page.read_text().replace("tracelock.intent", "tracelock.intnet", 1))
    assert main(["--output", str(page), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err
