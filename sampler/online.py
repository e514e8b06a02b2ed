"""The seed sampler on the collector path: span rules on the stream, trace and slice rules on summaries.

Span rules run on every serialized request as it passes (:class:`tracelock.sampler.spans.SpanRuleEngine`);
a kept match is stamped on the span (``tracelock.seed.rules``, ``tracelock.seed.ids``) before the span
is written, and recorded as a seed row. Trace and slice rules need the whole trace and its feedback,
which only exist once the trace has finished: :meth:`SeedSampler.run_trace_rules` applies them to the
stored summaries of traces that ended at least ``settle`` ago - the same code as ``tracelock seeds run``,
so the two paths cannot disagree on the same data.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tracelock.sampler.batch import RunReport, run_rules
from tracelock.sampler.identity import keep_sample
from tracelock.sampler.limits import RateLimiter
from tracelock.sampler.rules import RuleSet
from tracelock.sampler.seeds import Seed, keys_and_labels, seeds_this_hour, write_seeds
from tracelock.sampler.spans import CONTENT_KEYS, SpanMatch, SpanRuleEngine
from tracelock.sampler.variables import Level
from tracelock.store import Store

__all__ = ["SEED_IDS_ATTRIBUTE", "SEED_RULES_ATTRIBUTE", "SeedSampler"]

SEED_RULES_ATTRIBUTE = "tracelock.seed.rules"
SEED_IDS_ATTRIBUTE = "tracelock.seed.ids"


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class SeedSampler:
    """Span rules on request bytes, plus the periodic trace/slice job. Thread-safe for ``process``.

    ``store`` receives seed rows (None: seeds are only returned, e.g. in the benchmark).
    """

    def __init__(
        self,
        rules: RuleSet,
        store: Store | None = None,
        *,
        stamp: bool = True,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.rules = rules
        self.store = store
        self.stamp = stamp
        self.clock = clock
        self.engine = SpanRuleEngine(rules)
        spent = seeds_this_hour(store, clock()) if store is not None else {}
        self.limiter = RateLimiter({r.name: r.spec.max_per_hour for r in rules.rules}, spent, clock)
        self.sampled_out: dict[str, int] = {}
        self.seeds_written = 0
        self._trace_watermark: datetime | None = None

    # --- span rules on the stream ------------------------------------------------------------------------

    def process(self, body: bytes) -> tuple[bytes, list[Seed]]:
        """Evaluate span rules on one serialized request; return the (stamped) body and the new seeds."""
        matches = self.engine.match(body)
        if not matches:
            return body, []
        kept: list[tuple[SpanMatch, Seed]] = []
        for match in matches:
            rule = match.rule
            if not keep_sample(rule.name, match.trace_id, rule.spec.sample):
                self.sampled_out[rule.name] = self.sampled_out.get(rule.name, 0) + 1
                continue
            if not self.limiter.allow(rule.name):
                continue
            kept.append((match, self._seed(match, self.engine.recorded_attributes(match))))
        if not kept:
            return body, []
        seeds = [seed for _, seed in kept]
        if self.store is not None:
            self.seeds_written += write_seeds(self.store, seeds)
        return (self._stamped(kept) if self.stamp else body), seeds

    def _seed(self, match: SpanMatch, attrs: dict[str, Any]) -> Seed:
        keys, labels = keys_and_labels(attrs)
        rule = match.rule
        return Seed(
            rule.name, rule.version, Level.span.value, match.trace_id, match.span_id, "online", match.matched,
            keys, labels, str(attrs.get(CONTENT_KEYS[0], "")), str(attrs.get(CONTENT_KEYS[1], "")),
            self.clock(),
        )  # fmt: skip

    @staticmethod
    def _stamped(kept: list[tuple[SpanMatch, Seed]]) -> bytes:
        """The request with each matched span carrying the rules and seed ids that chose it.

        Only the matched spans are decoded (official Span type) and re-encoded into their place in the
        parsed request, whose other spans are still their original bytes; the request is serialized once.
        """
        by_span: dict[tuple[int, int, int], tuple[bytes, list[Seed]]] = {}
        for match, seed in kept:
            by_span.setdefault(match.where, (match.encoded, []))[1].append(seed)
        request = kept[0][0].request
        for (r_index, s_index, index), (encoded, seeds) in by_span.items():
            span = Span.FromString(encoded)
            previous = {kv.key: kv.value.string_value for kv in span.attributes}
            rules = _merge_list(previous.get(SEED_RULES_ATTRIBUTE, ""), [x.rule for x in seeds])
            ids = _merge_list(previous.get(SEED_IDS_ATTRIBUTE, ""), [x.seed_id for x in seeds])
            if SEED_RULES_ATTRIBUTE in previous or SEED_IDS_ATTRIBUTE in previous:
                others = [
                    kv for kv in span.attributes if kv.key not in (SEED_RULES_ATTRIBUTE, SEED_IDS_ATTRIBUTE)
                ]
                del span.attributes[:]
                span.attributes.extend(others)
            span.attributes.add(key=SEED_RULES_ATTRIBUTE).value.string_value = rules
            span.attributes.add(key=SEED_IDS_ATTRIBUTE).value.string_value = ids
            request.resource_spans[r_index].scope_spans[s_index].spans[index] = span.SerializeToString()
        stamped: bytes = request.SerializeToString()
        return stamped

    # --- trace and slice rules on summaries ---------------------------------------------------------------

    def run_trace_rules(self, *, settle: timedelta, lookback: timedelta) -> RunReport | None:
        """Apply trace and slice rules to traces that ended ``settle`` ago, within ``lookback``."""
        if self.store is None or not (self.rules.at(Level.trace) or self.rules.at(Level.slice)):
            return None
        until = self.clock() - settle
        since = until - lookback
        return run_rules(
            self.store, self.rules, since, until, mode="online", levels=(Level.trace, Level.slice)
        )

    @property
    def runtime_errors(self) -> dict[str, int]:
        return dict(self.engine.evaluator.errors)


def _merge_list(existing: str, new: list[str]) -> str:
    items = [x for x in existing.split(",") if x]
    for item in new:
        if item not in items:
            items.append(item)
    return ",".join(items)
