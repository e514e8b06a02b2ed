"""``python -m tracelock.semconv [--check] [--output PATH]``: write or check the generated reference page."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tracelock.semconv.docs import render_markdown

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "semconv.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tracelock.semconv", description=__doc__)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="page to write (docs/semconv.md)")
    parser.add_argument("--check", action="store_true", help="exit 1 if the page differs from the registry")
    args = parser.parse_args(argv)
    text = render_markdown()
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run `python -m tracelock.semconv`", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
