"""Property tests of everything that reads bytes from the network: OTLP protobuf and JSON decoding, gzip and
deflate bodies, the feedback parser and the collector config loader.

Each function answers arbitrary input with a value or a typed error (InputError / ConfigError) whose text
names the problem; any other exception would become a 503 "internal error" on the wire, which is a bug.
The end-to-end part sends hypothesis-built bodies to a real collector subprocess and requires a 200 or a
4xx with an OTLP Status message for every one. Coverage-guided runs: ``bench/fuzz_otlp.py`` (atheris).
"""

from __future__ import annotations

import gzip
import json
import sys
import zlib
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tracelock.collector.config import parse_config
from tracelock.collector.feedback import parse_feedback
from tracelock.collector.receivers.otlp.decode import (
    count_and_check_spans,
    decode_json,
    decode_protobuf,
    decompress,
)
from tracelock.errors import ConfigError, InputError

sys.path.insert(0, str(Path(__file__).parent / "soak"))
from crash_harness import collector_process
from otlp_strategies import json_trees, otlp_json_documents, otlp_requests

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
WIRE = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _decode_protobuf(body: bytes) -> int | InputError:
    try:
        return count_and_check_spans(decode_protobuf(body))
    except InputError as exc:
        assert str(exc), "an InputError must say what is wrong"
        return exc


def _decode_json(body: bytes) -> int | InputError:
    try:
        return count_and_check_spans(decode_json(body))
    except InputError as exc:
        assert str(exc)
        return exc


@FUZZ
@given(st.binary(max_size=2048))
def test_protobuf_decoder_takes_any_bytes(body: bytes) -> None:
    _decode_protobuf(body)


@FUZZ
@given(otlp_requests(), st.data())
def test_protobuf_decoder_on_valid_requests_with_flipped_and_cut_bytes(request, data) -> None:
    body = request.SerializeToString()
    assert _decode_protobuf(body) == sum(
        len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans
    )
    if body:
        cut = data.draw(st.integers(0, len(body) - 1))
        _decode_protobuf(body[:cut])
        flipped = bytearray(body)
        flipped[cut] ^= data.draw(st.integers(1, 255))
        _decode_protobuf(bytes(flipped))


@settings(FUZZ, max_examples=100)
@given(otlp_requests())
def test_wrong_id_lengths_are_named(request) -> None:
    span = Span(trace_id=b"\x01" * 15, span_id=b"\x02" * 8, name="x")
    request.resource_spans.add().scope_spans.add().spans.append(span)
    error = _decode_protobuf(request.SerializeToString())
    assert isinstance(error, InputError)
    assert ".trace_id: 15 bytes, expected 16" in str(error)


@FUZZ
@given(st.binary(max_size=1024))
def test_json_decoder_takes_any_bytes(body: bytes) -> None:
    _decode_json(body)


@FUZZ
@given(json_trees)
def test_json_decoder_takes_any_json_value(tree) -> None:
    _decode_json(json.dumps(tree).encode())
    _decode_json(json.dumps({"resourceSpans": tree}).encode())
    _decode_json(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": tree}]}]}).encode())


@settings(FUZZ, max_examples=100)
@given(otlp_json_documents())
def test_json_decoder_on_near_valid_documents(doc) -> None:
    _decode_json(json.dumps(doc).encode())


@FUZZ
@given(st.binary(max_size=4096), st.sampled_from(["gzip", "deflate", "x-gzip", "identity", "br", "GZIP "]))
def test_decompress_takes_any_bytes(body: bytes, encoding: str) -> None:
    try:
        decompress(body, encoding, 1 << 16)
    except InputError as exc:
        assert str(exc)


@FUZZ
@given(st.binary(max_size=4096), st.data())
def test_gzip_round_trip_and_truncation(payload: bytes, data) -> None:
    packed = gzip.compress(payload)
    assert decompress(packed, "gzip", 1 << 16) == payload
    assert decompress(zlib.compress(payload), "deflate", 1 << 16) == payload
    cut = data.draw(st.integers(0, len(packed) - 1))
    with pytest.raises(InputError, match=r"truncated gzip|corrupt gzip"):
        decompress(packed[:cut], "gzip", 1 << 16)


def test_gzip_bomb_is_refused_before_it_is_inflated() -> None:
    bomb = gzip.compress(b"\x00" * (64 << 20))
    with pytest.raises(InputError, match="exceeds the limit of 1048576 bytes"):
        decompress(bomb, "gzip", 1 << 20)


@FUZZ
@given(st.one_of(st.binary(max_size=512), json_trees.map(lambda t: json.dumps(t).encode())))
def test_feedback_parser_takes_any_body(body: bytes) -> None:
    try:
        parse_feedback(body)
    except InputError as exc:
        assert str(exc)


@FUZZ
@given(
    st.fixed_dictionaries(
        {"trace_id": st.just("ab" * 16), "kind": st.sampled_from(["complaint", "rating"])},
        optional={
            "value": st.one_of(st.floats(), st.integers(-(2**80), 2**80), st.text(max_size=5), st.none()),
            "timestamp": st.one_of(
                st.floats(), st.integers(-(2**80), 2**80), st.text(max_size=30), st.booleans()
            ),
            "attributes": json_trees,
            "comment": json_trees,
        },
    )
)
def test_feedback_fields_with_extreme_values(item) -> None:
    try:
        parse_feedback(json.dumps(item).encode())
    except InputError as exc:
        assert "feedback[0]" in str(exc) or "JSON" in str(exc)


@FUZZ
@given(json_trees)
def test_collector_config_loader_takes_any_tree(tree) -> None:
    for raw in (tree, {"receivers": tree}, {"receivers": {"otlp": {"protocols": tree}}}, {"service": tree}):
        try:
            parse_config(raw, "fuzz.yaml")
        except ConfigError as exc:
            assert str(exc).startswith("fuzz.yaml") or ": " in str(exc)


# --- over the wire, against a real collector ---------------------------------------------------------


@pytest.fixture(scope="module")
def collector_http(tmp_path_factory: pytest.TempPathFactory):
    collector = collector_process(tmp_path_factory.mktemp("fuzz-collector"))
    collector.start()
    yield f"http://127.0.0.1:{collector.http_port}"
    collector.stop()


def _assert_answer(response: httpx.Response) -> None:
    assert response.status_code == 200 or 400 <= response.status_code < 500, (
        response.status_code,
        response.text[:300],
    )
    if response.status_code >= 400:
        assert response.json()["message"] if "json" in response.headers["content-type"] else response.content


@WIRE
@given(
    st.one_of(
        st.binary(max_size=512),
        otlp_requests().map(lambda r: r.SerializeToString()),
        json_trees.map(lambda t: json.dumps({"resourceSpans": t}).encode()),
        otlp_json_documents().map(lambda d: json.dumps(d).encode()),
    ),
    st.sampled_from(["application/x-protobuf", "application/json", "text/plain", ""]),
    st.sampled_from(["", "gzip", "deflate", "br"]),
    st.booleans(),
)
def test_every_http_answer_is_200_or_a_4xx_naming_the_problem(
    collector_http, body, ctype, encoding, pack
) -> None:
    if pack and encoding in ("gzip", "deflate"):
        body = gzip.compress(body) if encoding == "gzip" else zlib.compress(body)
    headers = {"content-type": ctype} if ctype else {}
    if encoding:
        headers["content-encoding"] = encoding
    _assert_answer(httpx.post(f"{collector_http}/v1/traces", content=body, headers=headers, timeout=30))


@WIRE
@given(st.one_of(st.binary(max_size=256), json_trees.map(lambda t: json.dumps(t).encode())))
def test_every_feedback_answer_is_200_or_a_4xx(collector_http, body: bytes) -> None:
    response = httpx.post(f"{collector_http}/v1/feedback", content=body, timeout=30)
    assert response.status_code == 200 or 400 <= response.status_code < 500, response.text[:300]


def test_json_request_is_answered_in_json_and_protobuf_in_protobuf(collector_http) -> None:
    bad = httpx.post(
        f"{collector_http}/v1/traces", content=b"{", headers={"content-type": "application/json"}, timeout=30
    )
    assert bad.status_code == 400 and "malformed JSON" in bad.json()["message"]
    request = ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 3)
    bad = httpx.post(
        f"{collector_http}/v1/traces",
        content=request.SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
        timeout=30,
    )
    from google.rpc import status_pb2

    status = status_pb2.Status.FromString(bad.content)
    assert bad.status_code == 400 and "span_id: 3 bytes, expected 8" in status.message
