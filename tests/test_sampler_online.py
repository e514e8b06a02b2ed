"""Span rules on the collector path: serialized OTLP requests in, matches, stamps and seeds out.

No store here: the engine works on bytes. Eval traffic stays out of live rules, rate limits and
sampling hold, a runtime failure on one span is counted and the rest flows, aliases are read.
"""

from __future__ import annotations

import logging
import textwrap
from datetime import datetime, timedelta, timezone

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tracelock.sampler.identity import keep_sample, seed_id
from tracelock.sampler.online import SEED_IDS_ATTRIBUTE, SEED_RULES_ATTRIBUTE, SeedSampler
from tracelock.sampler.otlp_build import SpanSpec, build_request
from tracelock.sampler.rules import load_rules
from tracelock.sampler.spans import SpanRuleEngine


def _rules(body: str):
    return load_rules(textwrap.dedent(body), path="rules.yaml")


def _trace(n: int) -> str:
    return f"{n:032x}"


def _span(n: int) -> str:
    return f"{n:016x}"


def _body(spans: list[SpanSpec], resource: dict | None = None) -> bytes:
    return build_request(spans, resource).SerializeToString()


def _noise(i: int) -> SpanSpec:
    return SpanSpec(_trace(i), _span(i), attributes={"gen_ai.request.model": "gpt-4o", "http.route": "/x"})


def test_empty_retrieval_fires_on_the_flagged_span_only() -> None:
    engine = SpanRuleEngine(load_rules())
    spans = [
        _noise(1),
        SpanSpec(_trace(2), _span(2), name="retrieve", attributes={"tracelock.retrieval.empty": True}),
        SpanSpec(_trace(3), _span(3), name="retrieve", attributes={"tracelock.retrieval.empty": False}),
        _noise(4),
    ]
    matches = engine.match(_body(spans))
    assert [(m.rule.name, m.trace_id, m.span_id) for m in matches] == [
        ("empty-retrieval", _trace(2), _span(2))
    ]
    assert matches[0].matched == {"tracelock.retrieval.empty": "true"}
    assert matches[0].where == (0, 0, 1)


def test_requests_without_any_gate_attribute_are_not_decoded() -> None:
    engine = SpanRuleEngine(load_rules())
    assert engine.match(_body([_noise(i) for i in range(1, 50)])) == []
    assert engine.evaluator.evaluated == 0


def test_resource_attributes_count_and_string_values_match_typed_ones() -> None:
    engine = SpanRuleEngine(load_rules())
    body = _body([_noise(1), _noise(2)], resource={"tracelock.retrieval.empty": "true"})
    assert [m.span_id for m in engine.match(body)] == [_span(1), _span(2)]


def test_scope_keeps_eval_traffic_out_of_live_rules() -> None:
    rules = _rules(
        """
        version: 1
        rules:
          - {name: live-only, condition: tracelock.retrieval.empty}
          - {name: eval-only, scope: eval, condition: tracelock.retrieval.empty}
          - {name: both, scope: both, condition: tracelock.retrieval.empty}
        """
    )
    engine = SpanRuleEngine(rules)
    flag = {"tracelock.retrieval.empty": True}
    live = SpanSpec(_trace(1), _span(1), attributes=flag)
    stamped_eval = SpanSpec(_trace(2), _span(2), attributes={**flag, "tracelock.origin": "eval"})
    eval_keys = SpanSpec(_trace(3), _span(3), attributes={**flag, "tracelock.eval.run_id": "run-1"})
    found = {(m.rule.name, m.trace_id) for m in engine.match(_body([live, stamped_eval, eval_keys]))}
    assert found == {
        ("live-only", _trace(1)),
        ("both", _trace(1)),
        ("eval-only", _trace(2)),
        ("both", _trace(2)),
        ("eval-only", _trace(3)),
        ("both", _trace(3)),
    }
    eval_resource = _body([live], resource={"tracelock.origin": "eval"})
    assert {m.rule.name for m in engine.match(eval_resource)} == {"eval-only", "both"}


def test_aliases_are_read_as_their_canonical_key() -> None:
    rules = _rules(
        """
        version: 1
        rules:
          - {name: long-prompt, condition: gen_ai.usage.input_tokens > 1000}
        """
    )
    engine = SpanRuleEngine(rules)
    spans = [
        SpanSpec(_trace(1), _span(1), attributes={"llm.token_count.prompt": 5000}),
        SpanSpec(_trace(2), _span(2), attributes={"llm.token_count.prompt": 10}),
        SpanSpec(_trace(3), _span(3), attributes={"gen_ai.usage.input_tokens": 1001}),
    ]
    matches = engine.match(_body(spans))
    assert [(m.trace_id, m.matched) for m in matches] == [
        (_trace(1), {"gen_ai.usage.input_tokens": "5000"}),
        (_trace(3), {"gen_ai.usage.input_tokens": "1001"}),
    ]


def test_span_fields_and_ungated_rules() -> None:
    rules = _rules(
        """
        version: 1
        rules:
          - name: slow-root
            condition: 'span.is_root && span.duration_ms > 1000.0 && span.status_code == "Error"'
        """
    )
    engine = SpanRuleEngine(rules)
    slow = SpanSpec(_trace(1), _span(1), duration_ns=2_000_000_000, status_code=2)
    child = SpanSpec(_trace(1), _span(2), parent_span_id=_span(1), duration_ns=2_000_000_000, status_code=2)
    fast = SpanSpec(_trace(2), _span(3), duration_ns=1_000, status_code=2)
    assert [m.span_id for m in engine.match(_body([slow, child, fast]))] == [_span(1)]


def test_matched_spans_are_stamped_and_others_untouched() -> None:
    sampler = SeedSampler(load_rules())
    plain = _body([_noise(1)])
    body, seeds = sampler.process(plain)
    assert body is plain and seeds == []
    spans = [_noise(1), SpanSpec(_trace(2), _span(2), attributes={"tracelock.retrieval.empty": "true"})]
    # empty-retrieval samples 50% per trace: pick a trace id the rule keeps
    trace = next(t for t in range(2, 500) if keep_sample("empty-retrieval", _trace(t), 0.5))
    spans[1].trace_id = _trace(trace)
    body, seeds = sampler.process(_body(spans))
    assert [(s.rule, s.trace_id, s.span_id, s.mode) for s in seeds] == [
        ("empty-retrieval", _trace(trace), _span(2), "online")
    ]
    request = ExportTraceServiceRequest.FromString(body)
    stamped = {
        kv.key: kv.value.string_value for kv in request.resource_spans[0].scope_spans[0].spans[1].attributes
    }
    assert stamped[SEED_RULES_ATTRIBUTE] == "empty-retrieval"
    assert stamped[SEED_IDS_ATTRIBUTE] == seed_id("empty-retrieval", _trace(trace), _span(2))
    assert seeds[0].seed_id == stamped[SEED_IDS_ATTRIBUTE]
    untouched = request.resource_spans[0].scope_spans[0].spans[0].attributes
    assert SEED_RULES_ATTRIBUTE not in {kv.key for kv in untouched}


def test_rate_limit_holds_per_rule_per_hour() -> None:
    rules = _rules(
        """
        version: 1
        rules:
          - {name: capped, condition: tracelock.retrieval.empty, max_per_hour: 3}
          - {name: uncapped, condition: tracelock.retrieval.empty}
        """
    )
    now = [datetime(2026, 11, 24, 10, 5, tzinfo=timezone.utc)]
    sampler = SeedSampler(rules, clock=lambda: now[0])
    flag = {"tracelock.retrieval.empty": True}
    body = _body([SpanSpec(_trace(i), _span(i), attributes=flag) for i in range(1, 11)])
    _, seeds = sampler.process(body)
    assert sum(s.rule == "capped" for s in seeds) == 3
    assert sum(s.rule == "uncapped" for s in seeds) == 10
    _, seeds = sampler.process(body)
    assert sum(s.rule == "capped" for s in seeds) == 0
    assert sampler.limiter.refused["capped"] == 17
    now[0] += timedelta(hours=1)
    _, seeds = sampler.process(body)
    assert sum(s.rule == "capped" for s in seeds) == 3


def test_sampling_is_deterministic_per_trace_and_close_to_the_fraction() -> None:
    kept = [keep_sample("r", _trace(i), 0.25) for i in range(4000)]
    assert kept == [keep_sample("r", _trace(i), 0.25) for i in range(4000)]
    assert 0.22 < sum(kept) / len(kept) < 0.28
    assert all(keep_sample("r", _trace(i), 1.0) for i in range(100))


def test_a_runtime_failure_is_counted_logged_once_and_does_not_stop_other_spans(caplog) -> None:
    rules = _rules(
        """
        version: 1
        rules:
          - name: divides
            condition: 'gen_ai.usage.output_tokens > 0 && 100 / gen_ai.usage.input_tokens > 1'
          - {name: empty, condition: tracelock.retrieval.empty}
        """
    )
    engine = SpanRuleEngine(rules)
    spans = [
        SpanSpec(
            _trace(i), _span(i), attributes={"gen_ai.usage.output_tokens": 5, "gen_ai.usage.input_tokens": 0}
        )
        for i in range(1, 4)
    ]
    spans.append(SpanSpec(_trace(9), _span(9), attributes={"tracelock.retrieval.empty": True}))
    with caplog.at_level(logging.WARNING, logger="tracelock.sampler"):
        matches = engine.match(_body(spans))
    assert [m.rule.name for m in matches] == ["empty"]
    assert engine.evaluator.errors == {"divides": 3}
    assert len([r for r in caplog.records if "divides" in r.getMessage()]) == 1


def test_seed_ids_are_stable_and_distinct() -> None:
    a = seed_id("complaint-linked-trace", "AB" * 16, "")
    assert a == seed_id("complaint-linked-trace", "ab" * 16)
    assert len(a) == 16 and int(a, 16) >= 0
    assert a != seed_id("thumbs-down", "ab" * 16)
    assert seed_id("r", "ab" * 16, "cd" * 8) != seed_id("r", "ab" * 16)


def _request_with_event(span_attrs: dict, event_attrs: dict) -> bytes:
    from tracelock.sampler.otlp_build import key_values

    request = build_request([SpanSpec(_trace(1), _span(1), attributes=span_attrs)])
    event = request.resource_spans[0].scope_spans[0].spans[0].events.add()
    event.name = "retrieval"
    event.attributes.extend(key_values(event_attrs))
    return request.SerializeToString()


def test_gate_names_in_events_or_values_are_not_mistaken_for_span_attributes() -> None:
    engine = SpanRuleEngine(load_rules())
    flag = "tracelock.retrieval.empty"
    assert engine.match(_request_with_event({}, {flag: True})) == []
    assert engine.match(_request_with_event({"note": f"{flag} is set"}, {})) == []
    matched = engine.match(_request_with_event({flag: True}, {flag: False}))
    assert [m.span_id for m in matched] == [_span(1)]
    matched = engine.match(_request_with_event({flag: True, "note": flag}, {}))
    assert [m.span_id for m in matched] == [_span(1)]


def test_stamping_in_multi_resource_requests_equals_decoding_and_stamping_everything() -> None:
    rules = _rules(
        """
        version: 1
        rules:
          - {name: empty, condition: tracelock.retrieval.empty}
        """
    )
    flag = {"tracelock.retrieval.empty": True}
    first = build_request([_noise(1), SpanSpec(_trace(2), _span(2), attributes=flag)], {"r": "one"})
    second = build_request([SpanSpec(_trace(3), _span(3), attributes=flag), _noise(4)], {"r": "two"})
    first.resource_spans[0].scope_spans.add().spans.add().CopyFrom(
        second.resource_spans[0].scope_spans[0].spans[0]
    )
    request = first
    request.resource_spans.extend(second.resource_spans)
    request.resource_spans[1].schema_url = "https://opentelemetry.io/schemas/1.26.0"
    body = request.SerializeToString()
    sampler = SeedSampler(rules)
    assert [m.where for m in sampler.engine.match(body)] == [(0, 0, 1), (0, 1, 0), (1, 0, 0)]
    stamped, seeds = sampler.process(body)
    expected = ExportTraceServiceRequest.FromString(body)
    for seed, (r, s, i) in zip(seeds, [(0, 0, 1), (0, 1, 0), (1, 0, 0)], strict=True):
        target = expected.resource_spans[r].scope_spans[s].spans[i]
        target.attributes.add(key=SEED_RULES_ATTRIBUTE).value.string_value = "empty"
        target.attributes.add(key=SEED_IDS_ATTRIBUTE).value.string_value = seed.seed_id
    assert stamped == expected.SerializeToString()
    again, _ = SeedSampler(rules).process(stamped)  # stamping twice keeps one entry per rule and seed
    assert again == stamped


def test_a_duplicated_attribute_key_reads_its_first_value() -> None:
    from tracelock.sampler.otlp_build import key_values

    request = build_request([SpanSpec(_trace(1), _span(1)), SpanSpec(_trace(2), _span(2))])
    first, second = request.resource_spans[0].scope_spans[0].spans
    first.attributes.extend(key_values({"tracelock.retrieval.empty": True}))
    first.attributes.extend(key_values({"tracelock.retrieval.empty": False}))
    second.attributes.extend(key_values({"tracelock.retrieval.empty": False}))
    second.attributes.extend(key_values({"tracelock.retrieval.empty": True}))
    engine = SpanRuleEngine(load_rules())
    assert [m.span_id for m in engine.match(request.SerializeToString())] == [_span(1)]


def test_label_rules_read_span_labels_over_resource_labels() -> None:
    rules = _rules(
        """
        version: 1
        rules:
          - name: pay-empty
            condition: 'tracelock.label.team.startsWith("pay") && tracelock.retrieval.empty'
        """
    )
    sampler = SeedSampler(rules)
    flag = {"tracelock.retrieval.empty": True}
    spans = [
        SpanSpec(_trace(1), _span(1), attributes={**flag, "tracelock.label.team": "payments"}),
        SpanSpec(_trace(2), _span(2), attributes={**flag, "tracelock.label.team": "search"}),
        SpanSpec(_trace(3), _span(3), attributes=flag),
    ]
    found = sampler.engine.match(_body(spans))
    assert [(m.span_id, m.matched) for m in found] == [
        (_span(1), {"tracelock.label.team": "payments", "tracelock.retrieval.empty": "true"})
    ]
    found = sampler.engine.match(_body(spans, resource={"tracelock.label.team": "payroll"}))
    assert [m.span_id for m in found] == [_span(1), _span(3)]
    _, seeds = sampler.process(_body(spans))
    assert seeds[0].labels == {"team": "payments"}
