"""Differential fuzzing of the parser of record: ``--inputs`` mutated OTLP requests (see
``tests/soak/differential.py``), each either refused by the receiver's decoding or stored by ClickHouse
span for span with the ids and names Python validated.

    python bench/fuzz_differential.py --inputs 1000000 --seed 1

Prints the machine, a progress line per 100,000 inputs and the totals: inputs, acknowledged, refused,
spans compared, failures (acknowledged but refused by ClickHouse, or stored differently). Exit code 1
on any failure; the first failing batch is saved under --workdir.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "soak"))
from differential import Differential, mutated_request

from tracelock.store import StoreSettings, apply_migrations, open_store


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000, help="requests per insert (as the collector)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="fuzz-differential-"))
    store = open_store(StoreSettings(data_dir=workdir / "data"))
    apply_migrations(store)
    differential = Differential(store)
    rng = random.Random(args.seed)
    print(f"machine: {platform.platform()} python {platform.python_version()} cpus={os.cpu_count()}")
    started, next_report = time.perf_counter(), 100_000
    while differential.inputs < args.inputs and not differential.failures:
        bodies = [mutated_request(rng) for _ in range(min(args.batch, args.inputs - differential.inputs))]
        differential.check(bodies)
        if differential.failures:
            for i, body in enumerate(bodies):
                (workdir / f"failing-{i:04d}.pb").write_bytes(body)
        if differential.inputs >= next_report:
            print(f"{differential.inputs} inputs, {time.perf_counter() - started:.0f} s", flush=True)
            next_report += 100_000
    d = differential
    print(
        f"inputs={d.inputs} acknowledged={d.acknowledged} refused={d.refused} spans_compared={d.spans} "
        f"failures={len(d.failures)} seconds={time.perf_counter() - started:.0f}"
    )
    for failure in d.failures:
        print("FAILED:", failure)
    store.close()
    return 1 if d.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
