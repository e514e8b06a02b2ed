"""Two ways to make what is acknowledged exactly what is stored, measured on the SDK workload
(``bench/sdk_workload.py``: 512 real-SDK-encoded spans per request), in one run:

- **canonical** (kept): upb parses the request (the receiver does this anyway, for the id checks),
  unknown fields are dropped and the message is re-encoded; ClickHouse only ever sees that encoding.
- **ClickHouse validates**: the request as sent is parsed by ClickHouse's Protobuf reader before the
  acknowledgement (``SELECT count() FROM file(..., 'ProtobufSingle')`` on a spool file, in chDB).
  It costs a query per request and still leaves the duplicated-field disagreement (upb keeps the
  last value, ClickHouse reads ''), which only comparing both parsers' ids would catch.

    python bench/parser_of_record.py --requests 40

Prints the machine and the CPU microseconds per span of: the parse alone (the receiver's work before
either fix), parse + canonical re-encoding, parse + ClickHouse validation.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sdk_workload import SPANS_PER_REQUEST, sdk_request

from tracelock.collector.exporters.clickhouse.spans_sql import INPUT_STRUCTURE, SCHEMA_MESSAGE, SCHEMA_PATH
from tracelock.collector.receivers.otlp.decode import canonical_bytes, decode_protobuf
from tracelock.store import StoreSettings, open_store


def cpu_us_per_span(work: Callable[[bytes], object], bodies: list[bytes]) -> float:
    started = time.process_time()
    for body in bodies:
        work(body)
    return (time.process_time() - started) / (len(bodies) * SPANS_PER_REQUEST) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    bodies = [sdk_request(seed) for seed in range(args.requests)]
    workdir = Path(tempfile.mkdtemp(prefix="parser-of-record-"))
    store = open_store(StoreSettings(data_dir=workdir / "data"))
    spool = workdir / "request.bin"
    validate_sql = (
        f"SELECT count() FROM file('{spool}', 'ProtobufSingle', '{INPUT_STRUCTURE}') "
        f"SETTINGS format_schema = '{SCHEMA_PATH}:{SCHEMA_MESSAGE}'"
    )

    def clickhouse_validates(body: bytes) -> None:
        decode_protobuf(body)
        spool.write_bytes(body)
        store.query(validate_sql)

    print(f"machine: {platform.platform()} python {platform.python_version()} cpus={os.cpu_count()}")
    print(f"load average {os.getloadavg()[0]:.1f}; {args.requests} requests x {SPANS_PER_REQUEST} spans")
    parse = cpu_us_per_span(decode_protobuf, bodies)
    canonical = cpu_us_per_span(lambda b: canonical_bytes(decode_protobuf(b)), bodies)
    # chDB parses in its own threads: process_time counts them too (all CPU the collector would spend)
    validated = cpu_us_per_span(clickhouse_validates, bodies)
    print(f"parse only (receiver before the fix)   {parse:6.2f} us/span")
    print(f"parse + canonical re-encoding (kept)   {canonical:6.2f} us/span  (+{canonical - parse:.2f})")
    print(f"parse + ClickHouse validates           {validated:6.2f} us/span  (+{validated - parse:.2f})")
    store.close()


if __name__ == "__main__":
    main()
