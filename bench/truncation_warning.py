"""Per-request cost of the normalize processor's truncation warning (``TruncationWarnings.check``).

Three kinds of request of 512 spans (~220 KB): none of its values near the limit (ruled out by the byte
search), and one span carrying a 70 000-character RAG context (over the 65 536 default) - checked once
(the parse that warns) and then on every later request, as a client that always sends it would.
Process CPU time, best of ``--rounds``.

    python bench/truncation_warning.py [--requests 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from keys_support import TestSpan, request_of

from tracelock.collector.processors.normalize.truncation import TruncationWarnings

LIMIT = 65536


def per_request_us(bodies: list[bytes], warnings: TruncationWarnings) -> float:
    started = time.process_time()
    for body in bodies:
        warnings.check(body)
    return (time.process_time() - started) / len(bodies) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the one warning per name is not what is measured
    print(f"machine: {platform.platform()} python {platform.python_version()}, load {os.getloadavg()[0]:.1f}")
    spans = [TestSpan({"input.value": "q" * 200, "n": 3}) for _ in range(511)]
    plain = request_of([*spans, TestSpan({"retrieval.context": "c" * 200})]).SerializeToString()
    long = request_of([*spans, TestSpan({"retrieval.context": "c" * 70_000})]).SerializeToString()
    figures: dict[str, list[float]] = {"no long value": [], "first long value": [], "the same, again": []}
    for _ in range(args.rounds):
        figures["no long value"].append(per_request_us([plain] * args.requests, TruncationWarnings(LIMIT)))
        warnings = TruncationWarnings(LIMIT)
        figures["first long value"].append(per_request_us([long], warnings))
        figures["the same, again"].append(per_request_us([long] * args.requests, warnings))
    print(
        f"512 spans per request ({len(plain)} / {len(long)} bytes); CPU µs per request, best of {args.rounds}"
    )
    for name, times in figures.items():
        print(f"{name:18s} {min(times):10.1f}")


if __name__ == "__main__":
    main()
