"""Coverage-guided fuzzing (atheris / libFuzzer) of everything the collector reads from the network or disk.

    python bench/fuzz_otlp.py -runs=1000000            # all targets, chosen by the first input byte
    python bench/fuzz_otlp.py --target json -runs=200000

Targets: OTLP protobuf decoding (+ id checks), OTLP/JSON decoding, gzip/deflate bodies, the feedback
parser, the collector config loader and the sampler rules loader. Every input must end in a value or in
the typed error that becomes a 4xx / a named config problem (InputError, ConfigError); anything else is a
crash, and an input slower than ``-timeout`` seconds is a hang. Seeds are valid examples of each format.
Prints the machine, a progress line per 100,000 inputs, and libFuzzer's ``Done N runs`` at the end.
Needs ``pip install atheris`` (not in the dev extra: it builds only where libFuzzer wheels exist).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["tracelock"]):
    import yaml

    from tracelock.collector.config import DEFAULT_CONFIG, parse_config
    from tracelock.collector.feedback import parse_feedback
    from tracelock.collector.receivers.otlp.decode import (
        count_and_check_spans,
        decode_json,
        decode_protobuf,
        decompress,
    )
    from tracelock.errors import ConfigError, InputError
    from tracelock.sampler.rules import load_rules

LIMIT = 1 << 20


def _proto(data: bytes) -> None:
    count_and_check_spans(decode_protobuf(data))


def _json(data: bytes) -> None:
    count_and_check_spans(decode_json(data))


def _gzip(data: bytes) -> None:
    encoding = ("gzip", "deflate", "x-gzip", "identity", "zstd")[data[0] % 5] if data else ""
    _proto(decompress(data[1:], encoding, LIMIT))


def _feedback(data: bytes) -> None:
    parse_feedback(data)


def _config(data: bytes) -> None:
    try:
        raw = yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError):
        return  # load_config turns these into ConfigError before parse_config runs
    parse_config(raw, "fuzz.yaml")


def _rules(data: bytes) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    load_rules(text)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "proto": _proto,
    "json": _json,
    "gzip": _gzip,
    "feedback": _feedback,
    "config": _config,
    "rules": _rules,
}
NAMES = sorted(TARGETS)
EXPECTED = (InputError, ConfigError)
tried: Counter[str] = Counter()
started = time.monotonic()


def _seeds(target: str) -> list[bytes]:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    span = (
        request.resource_spans.add()
        .scope_spans.add()
        .spans.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name="llm.call", start_time_unix_nano=1)
    )
    span.attributes.add(key="gen_ai.request.model").value.string_value = "gpt"
    proto = request.SerializeToString()
    doc = {
        "resourceSpans": [
            {"scopeSpans": [{"spans": [{"traceId": "01" * 16, "spanId": "02" * 8, "name": "x"}]}]}
        ]
    }
    rules = Path(__file__).resolve().parent.parent / "deploy" / "rules" / "default.yaml"
    seeds = {
        "proto": [proto],
        "json": [json.dumps(doc).encode()],
        "gzip": [b"\x00" + gzip.compress(proto), b"\x01" + __import__("zlib").compress(proto)],
        "feedback": [json.dumps({"trace_id": "ab" * 16, "kind": "complaint", "comment": "late"}).encode()],
        "config": [yaml.safe_dump(DEFAULT_CONFIG).encode()],
        "rules": [rules.read_bytes()],
    }
    return seeds[target]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], add_help=False)
    parser.add_argument("--target", choices=["all", *NAMES], default="all")
    args, rest = parser.parse_known_args()
    chosen = NAMES if args.target == "all" else [args.target]

    def one_input(data: bytes) -> None:
        if len(chosen) == 1:
            name, body = chosen[0], data
        else:
            if not data:
                return
            name, body = chosen[data[0] % len(chosen)], data[1:]
        tried[name] += 1
        total = sum(tried.values())
        if total % 100_000 == 0:
            print(
                f"fuzz_otlp: {total} inputs {dict(sorted(tried.items()))} {time.monotonic() - started:.0f}s",
                flush=True,
            )
        try:
            TARGETS[name](body)
        except EXPECTED as exc:
            if not str(exc):
                raise AssertionError(f"{name}: {type(exc).__name__} without a message") from exc

    print(
        f"machine: {platform.platform()} python {platform.python_version()} cpus={os.cpu_count()}", flush=True
    )
    corpus = Path(tempfile.mkdtemp(prefix="fuzz-corpus-"))
    for name in chosen:
        prefix = b"" if len(chosen) == 1 else bytes([NAMES.index(name) if args.target == "all" else 0])
        for i, seed in enumerate(_seeds(name)):
            (corpus / f"{name}-{i}").write_bytes(prefix + seed)

    words = [
        "resourceSpans",
        "scopeSpans",
        "spans",
        "traceId",
        "spanId",
        "parentSpanId",
        "attributes",
        "key",
        "value",
        "stringValue",
        "intValue",
        "doubleValue",
        "boolValue",
        "arrayValue",
        "kvlistValue",
        "values",
        "links",
        "events",
        "status",
        "kind",
        "startTimeUnixNano",
        "trace_id",
        "span_id",
        "kind",
        "complaint",
        "timestamp",
        "feedback",
        "receivers",
        "processors",
        "exporters",
        "service",
        "pipelines",
        "protocols",
        "rules",
        "condition",
        "level",
        "scope",
        "name",
        "version",
    ]
    dictionary = corpus.parent / f"{corpus.name}.dict"
    dictionary.write_text("".join(f'kw{i}="\\"{w}\\""\n' for i, w in enumerate(words)) + 'q="\\""\n')
    if not any(arg.startswith("-dict=") for arg in rest):
        rest.append(f"-dict={dictionary}")
    atheris.Setup([sys.argv[0], *rest, str(corpus)], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
