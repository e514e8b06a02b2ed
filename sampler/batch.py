"""Run rules over what is stored: ``tracelock seeds run`` and the collector's trace/slice job.

Feedback arrives after its trace, so complaint rules must also work late: trace rules look at every
trace that started in the window *or* received feedback in it. A match already stored as a seed (by
either path) is skipped, so running twice, or after the collector, never duplicates a seed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from tracelock.sampler.evaluate import Evaluator
from tracelock.sampler.identity import keep_sample
from tracelock.sampler.limits import RateLimiter
from tracelock.sampler.rules import CompiledRule, RuleSet
from tracelock.sampler.seeds import (
    KEY_COLUMNS,
    Seed,
    as_text,
    existing_seed_keys,
    keys_and_labels,
    seeds_this_hour,
    utc_param,
    write_seeds,
)
from tracelock.sampler.spans import CONTENT_KEYS
from tracelock.sampler.stored import span_rows, trace_content, trace_rows, trace_values, window_candidates
from tracelock.sampler.variables import LABEL_PREFIX, SUMMARY_COLUMNS, Level
from tracelock.store import Store

__all__ = ["RuleReport", "RunReport", "run_rules"]

# First-N rules rank every trace of a group since ``after``, for the groups seen in the window, so the
# answer does not depend on the window a run happens to use. Groups that already hold their N seeds are
# left out, so a group is scanned only until it is full (the collector runs this every pass).
_FIRST_N_SQL = """
SELECT TraceId FROM trace_summaries_final
WHERE Start >= {after:DateTime64(9)}
  AND BY_TUPLE IN (
    SELECT DISTINCT BY_TUPLE FROM trace_summaries_final WHERE TraceId IN (SELECT TraceId FROM in_window)
  )
  AND NOT has({full:Array(Array(String))}, BY_ARRAY)
"""


@dataclass
class RuleReport:
    """What one rule did in one run."""

    rule: str
    level: str
    matched: int = 0
    new: int = 0
    already: int = 0
    sampled_out: int = 0
    rate_limited: int = 0
    errors: int = 0


@dataclass
class RunReport:
    since: datetime
    until: datetime
    mode: str
    rules: list[RuleReport] = field(default_factory=list)
    seeds: list[Seed] = field(default_factory=list)

    @property
    def new(self) -> int:
        return sum(r.new for r in self.rules)


def _column(name: str) -> str:
    if name.startswith(LABEL_PREFIX):
        return f"Labels['{name[len(LABEL_PREFIX) :]}']"  # validated: a label name is an identifier segment
    return SUMMARY_COLUMNS[name]


class _Run:
    def __init__(
        self,
        store: Store,
        rules: RuleSet,
        since: datetime,
        until: datetime,
        mode: str,
        limits: bool,
        write: bool,
    ) -> None:
        self.store = store
        self.write = write
        self.rules = rules
        self.since, self.until, self.mode = since, until, mode
        self.evaluator = Evaluator()
        spent = seeds_this_hour(store) if limits else {}
        budget = {r.name: r.spec.max_per_hour if limits else None for r in rules.rules}
        self.limiter = RateLimiter(budget, spent)
        self.report = RunReport(since, until, mode)

    def params(self) -> dict[str, Any]:
        return {"since": utc_param(self.since), "until": utc_param(self.until)}

    # --- per level -------------------------------------------------------------------------------------

    def span_rule(self, rule: CompiledRule, report: RuleReport) -> list[Seed]:
        condition = rule.condition
        keys = {v.attribute for v in condition.variables if v.attribute}
        keys |= {"tracelock.origin", *SUMMARY_COLUMNS, *CONTENT_KEYS}
        gates = [g.attributes for g in condition.gates]
        out = []
        for row in span_rows(self.store, sorted(keys), gates, self.since, self.until):
            if not rule.spec.scope.admits(row["Origin"]):
                continue
            values: dict[str, Any] = dict(row["ra"])
            values.update(row["sa"])
            values.update(
                {
                    "span.name": row["SpanName"],
                    "span.kind": row["SpanKind"],
                    "span.service_name": row["ServiceName"],
                    "span.status_code": row["StatusCode"],
                    "span.duration_ms": int(row["Duration"]) / 1e6,
                    "span.is_root": not row["ParentSpanId"],
                }
            )
            matched = self.evaluator.check(rule, values)
            if matched is None:
                continue
            seed_keys, labels = keys_and_labels(values)
            seed = Seed(
                rule.name, rule.version, Level.span.value, row["TraceId"], row["SpanId"], self.mode, matched,
                seed_keys, labels, str(values.get(CONTENT_KEYS[0], "")), str(values.get(CONTENT_KEYS[1], "")),
            )  # fmt: skip
            out.append(seed)
        report.matched = len(out)
        return out

    def trace_rule(self, rule: CompiledRule, report: RuleReport) -> list[Seed]:
        first_n = rule.spec.first_n
        if first_n is None:
            rows = trace_rows(self.store, window_candidates(), self.params())
        else:
            columns = ", ".join(_column(k) for k in first_n.by)
            sql = f"WITH in_window AS ({window_candidates()}) " + _FIRST_N_SQL.replace(
                "BY_TUPLE", f"tuple({columns})"
            ).replace("BY_ARRAY", f"[{columns}]")
            after = first_n.after or datetime(1970, 1, 1, tzinfo=timezone.utc)
            full = self._full_groups(rule)
            rows = trace_rows(self.store, sql, {**self.params(), "after": utc_param(after), "full": full})
        counts: dict[tuple[str, ...], int] = {}
        out = []
        for row in rows:
            if not rule.spec.scope.admits(row["TraceOrigin"]):
                continue
            values = trace_values(row)
            matched = self.evaluator.check(rule, values)
            if matched is None:
                continue
            if first_n is not None:
                group = tuple(as_text(values.get(k, "")) for k in first_n.by)
                if counts.get(group, 0) >= first_n.count:
                    continue
                counts[group] = counts.get(group, 0) + 1
                matched.update(dict(zip(first_n.by, group, strict=True)))
            seed_keys, labels = keys_and_labels(values)
            trace_id = row["TraceId"]
            out.append(Seed(rule.name, rule.version, Level.trace.value, trace_id, "", self.mode, matched,
                            seed_keys, labels))  # fmt: skip
        report.matched = len(out)
        return out

    def _full_groups(self, rule: CompiledRule) -> list[list[str]]:
        """Groups of a first-N rule already holding ``count`` seeds (keys as the seeds record them)."""
        first_n = rule.spec.first_n
        assert first_n is not None
        keys = ", ".join(f"Matched[{{k{i}:String}}]" for i in range(len(first_n.by)))
        params: dict[str, Any] = {f"k{i}": k for i, k in enumerate(first_n.by)}
        result = self.store.query(
            f"SELECT [{keys}] AS g FROM seeds FINAL WHERE Rule = {{rule:String}} GROUP BY g "
            "HAVING count() >= {count:UInt64}",
            {**params, "rule": rule.name, "count": first_n.count},
        )
        return [list(map(str, row[0])) for row in result.rows]

    def slice_rule(self, rule: CompiledRule, report: RuleReport) -> list[Seed]:
        spec = rule.spec.slice
        assert spec is not None
        since = self.until - spec.window_delta
        columns = [_column(k) for k in spec.by]
        by = ", ".join(f"{c} AS k{i}" for i, c in enumerate(columns))
        keys = ", ".join(f"k{i}" for i in range(len(columns)))
        params: dict[str, Any] = {"since": utc_param(since), "until": utc_param(self.until)}
        base = (
            f"SELECT t.TraceId AS TraceId, {by}, t.CostUsd AS CostUsd, "
            "(t.Complaints + ifNull(fb.c, 0)) > 0 AS complained, ifNull(fb.d, 0) > 0 AS down "
            "FROM trace_summaries_final AS t LEFT JOIN (SELECT TraceId, countIf(Kind = 'complaint') AS c, "
            "countIf(Kind = 'thumbs_down') AS d FROM feedback FINAL GROUP BY TraceId) AS fb "
            "ON fb.TraceId = t.TraceId "
            "WHERE t.Start >= {since:DateTime64(9)} AND t.Start < {until:DateTime64(9)} "
            "AND if(t.TraceId IN (SELECT TraceId FROM otel_traces WHERE Origin = 'eval' "
            "AND Timestamp >= {since:DateTime64(9)}), 'eval', 'live') IN {origins:Array(String)}"
        )
        scope = rule.spec.scope.value
        params["origins"] = ["live", "eval"] if scope == "both" else [scope]
        slices = self.store.query(
            f"SELECT {keys}, count() AS traces, countIf(complained) AS complaint_traces, "
            f"countIf(down) AS down_traces, round(sum(CostUsd), 9) AS cost FROM ({base}) GROUP BY {keys} "
            f"HAVING traces >= {{min_traces:UInt64}} ORDER BY {keys}",
            {**params, "min_traces": spec.min_traces},
        ).rows
        out = []
        for row in slices:
            group = [as_text(v) for v in row[: len(columns)]]
            traces, complaints, downs, cost = row[len(columns) :]
            values: dict[str, Any] = dict(zip(spec.by, group, strict=True))
            values.update(
                {
                    "slice.traces": int(traces),
                    "slice.complaint_traces": int(complaints),
                    "slice.complaint_rate": int(complaints) / int(traces) if traces else 0.0,
                    "slice.thumbs_down_traces": int(downs),
                    "slice.cost_usd": float(cost),
                }
            )
            matched = self.evaluator.check(rule, values)
            if matched is None:
                continue
            matched.update({k: as_text(v) for k, v in values.items()})
            picks = self.store.query(
                f"SELECT TraceId FROM ({base}) WHERE [{keys}] = {{group:Array(String)}} "
                "ORDER BY complained DESC, cityHash64(TraceId), TraceId LIMIT {per_slice:UInt32}",
                {**params, "group": group, "per_slice": spec.per_slice},
            ).rows
            seed_keys = {k: v for k, v in zip(spec.by, group, strict=True) if k in KEY_COLUMNS.values()}
            for (trace_id,) in picks:
                out.append(Seed(rule.name, rule.version, Level.slice.value, str(trace_id), "", self.mode,
                                dict(matched), dict(seed_keys)))  # fmt: skip
        report.matched = len(out)
        return out

    # --- all rules ---------------------------------------------------------------------------------------

    def run(self, levels: Iterable[Level]) -> RunReport:
        wanted = set(levels)
        for rule in self.rules.rules:
            if rule.level not in wanted:
                continue
            report = RuleReport(rule.name, rule.level.value)
            found = {Level.span: self.span_rule, Level.trace: self.trace_rule, Level.slice: self.slice_rule}[
                rule.level
            ](rule, report)
            report.errors = self.evaluator.errors.get(rule.name, 0)
            self.report.rules.append(report)
            self.keep(rule, found, report)
        self.fill_content()
        if self.write:
            write_seeds(self.store, self.report.seeds)
        return self.report

    def keep(self, rule: CompiledRule, found: list[Seed], report: RuleReport) -> None:
        known = existing_seed_keys(self.store, [rule.name], [s.trace_id for s in found])
        seen: set[tuple[str, str, str]] = set()
        for seed in found:
            if seed.identity in known or seed.identity in seen:
                report.already += 1
                continue
            seen.add(seed.identity)
            if not keep_sample(rule.name, seed.trace_id, rule.spec.sample):
                report.sampled_out += 1
                continue
            if not self.limiter.allow(rule.name):
                report.rate_limited += 1
                continue
            report.new += 1
            self.report.seeds.append(seed)

    def fill_content(self) -> None:
        missing = [s for s in self.report.seeds if s.level != Level.span.value]
        content = trace_content(self.store, [s.trace_id for s in missing])
        for seed in missing:
            seed.input, seed.output = content.get(seed.trace_id, ("", ""))


def run_rules(
    store: Store,
    rules: RuleSet,
    since: datetime,
    until: datetime | None = None,
    *,
    mode: str = "batch",
    levels: Iterable[Level] = tuple(Level),
    limits: bool = True,
    write: bool = True,
) -> RunReport:
    """Apply ``rules`` to stored data in ``[since, until)`` and write the new seeds.

    ``limits=False`` ignores ``max_per_hour`` (a deliberate backfill); ``write=False`` only reports
    (works on a read-only store, e.g. through a running collector).
    """
    until = until or datetime.now(timezone.utc)
    return _Run(store, rules, since, until, mode, limits, write).run(levels)
