-- Live trace summaries folded per hour and slice, so a report over millions of traces reads thousands of
-- rows. A report's online side reads every trace summary with FINAL and every TraceId (feedback and
-- coverage are sets of trace ids): ~0.7 s on 10 M spans. This rollup holds, per hour and combination
-- of every report dimension (the columns of report/dimensions.py, checked by a test) and label map, the
-- same counts, sums, first/last start and three smallest bad trace ids that the report templates add
-- up (deploy/sql/queries/live_rollup.sql reads it in the shape of live_totals.sql), and its bad traces
-- (complaint or thumbs-down: a few in a hundred) as live_traces.sql gives them, for the board's list.
--
-- A refreshable materialized view: ClickHouse rebuilds it whole and swaps it in atomically, hourly and
-- whenever a reader asks (SYSTEM REFRESH VIEW: report/rollup.py, when the data under it changed). It
-- is not an incremental view because a trace's outcome is only known after its partial rows fold
-- (FINAL) and its feedback arrives, neither of which an insert block sees.
--
-- SourceVersion is what the rollup was built from: the block numbers of the source tables' partitions,
-- read before the data. Inserts raise a partition's max block, a dropped partition disappears, merges
-- change neither; so a reader compares it with trace_rollup_source_version to know whether the rollup
-- is current (the CLI reads it only then; the board also while it is younger than --max-stale). Not
-- seen: a mutation, or a TTL drop of a part inside a partition (tracelock runs no mutation; retention
-- drops whole day/month parts); the hourly rebuild bounds what those leave behind.
-- tracelock:single_node (on a cluster the rollup is not created and reports read trace_summaries)
CREATE VIEW IF NOT EXISTS trace_rollup_source_version
AS SELECT cityHash64(toString(groupArraySorted(1000)((table, partition_id, lo, hi)))) AS Version
FROM
(
    SELECT table, partition_id, min(min_block_number) AS lo, max(max_block_number) AS hi
    FROM system.parts
    WHERE database = currentDatabase() AND active
      AND table IN ('trace_summaries', 'feedback', 'eval_records', 'locks')
    GROUP BY table, partition_id
);

-- tracelock:single_node
CREATE MATERIALIZED VIEW IF NOT EXISTS trace_rollup
REFRESH EVERY 1 HOUR
(
    `Hour` DateTime COMMENT 'toStartOfHour of the traces'' Start.',
    `RequestModel` LowCardinality(String),
    `PromptVersion` LowCardinality(String),
    `RetrieverVersion` LowCardinality(String),
    `Intent` LowCardinality(String),
    `Feature` LowCardinality(String),
    `Language` LowCardinality(String),
    `CustomerTier` LowCardinality(String),
    `GuardrailVersion` LowCardinality(String),
    `ExperimentBucket` LowCardinality(String),
    `OutputFormat` LowCardinality(String),
    `Labels` Map(String, String),
    `Traces` UInt64,
    `ComplaintTraces` UInt64,
    `ThumbsDownTraces` UInt64,
    `BadTraces` UInt64 COMMENT 'Complained or thumbs-down.',
    `CoveredBadTraces` UInt64 COMMENT 'Bad traces that are the source trace of an eval record or a lock.',
    `ParseFailureTraces` UInt64,
    `EmptyRetrievalTraces` UInt64,
    `ErrorTraces` UInt64,
    `ContextTokens` UInt64 COMMENT 'Sum over the traces of their largest context tokens.',
    `CostUsd` Decimal128(12) COMMENT 'Sum of the traces'' cost, as live_totals.sql sums it (exact).',
    `FirstSeen` DateTime64(9),
    `LastSeen` DateTime64(9),
    `BadExamples` Array(String) COMMENT 'The three smallest bad trace ids.',
    `BadTraceList` Array(Tuple(TraceId String, Start DateTime64(9), Complained UInt8, ThumbsDown UInt8,
        ParseFailed UInt8, EmptyRetrieval UInt8, Errored UInt8, ContextTokens UInt64, CostUsd Float64))
        COMMENT 'Every bad trace with what the board''s trace list shows of it.',
    `SourceVersion` UInt64 COMMENT 'trace_rollup_source_version.Version when the refresh began.',
    `RefreshedAt` DateTime64(3) COMMENT 'When the refresh began (UTC).'
)
ENGINE = MergeTree
ORDER BY Hour
EMPTY
AS SELECT
    toStartOfHour(Start) AS Hour,
    RequestModel, PromptVersion, RetrieverVersion, Intent, Feature, Language, CustomerTier,
    GuardrailVersion, ExperimentBucket, OutputFormat, Labels,
    count() AS Traces,
    countIf(complained) AS ComplaintTraces,
    countIf(thumbs_down) AS ThumbsDownTraces,
    countIf(complained OR thumbs_down) AS BadTraces,
    countIf((complained OR thumbs_down) AND covered) AS CoveredBadTraces,
    countIf(ParseFailures > 0) AS ParseFailureTraces,
    countIf(EmptyRetrievals > 0) AS EmptyRetrievalTraces,
    countIf(ErrorCount > 0) AS ErrorTraces,
    sum(ContextTokens) AS ContextTokens,
    sum(toDecimal128(if(isFinite(CostUsd) AND abs(CostUsd) < 1e20, CostUsd, 0), 12)) AS CostUsd,
    min(Start) AS FirstSeen,
    max(Start) AS LastSeen,
    groupArraySortedIf(3)(TraceId, complained OR thumbs_down) AS BadExamples,
    groupArrayIf((TraceId, Start, complained, thumbs_down, ParseFailures > 0, EmptyRetrievals > 0, ErrorCount > 0,
        trace_context_tokens, trace_cost_usd), complained OR thumbs_down) AS BadTraceList,
    any(version) AS SourceVersion,
    any(refreshed_at) AS RefreshedAt
FROM
(
    SELECT
        *,
        (SELECT Version FROM trace_rollup_source_version) AS version,
        now64(3) AS refreshed_at,
        ContextTokens AS trace_context_tokens,
        CostUsd AS trace_cost_usd,
        (Complaints > 0 OR TraceId IN (SELECT TraceId FROM feedback FINAL WHERE Kind = 'complaint')) AS complained,
        TraceId IN (SELECT TraceId FROM feedback FINAL WHERE Kind = 'thumbs_down') AS thumbs_down,
        (TraceId IN (SELECT SourceTraceId FROM eval_records WHERE SourceTraceId != '')
            OR TraceId IN (SELECT SourceTraceId FROM locks WHERE SourceTraceId != '')) AS covered
    FROM trace_summaries FINAL
    WHERE Origin = 'live'
)
GROUP BY Hour, RequestModel, PromptVersion, RetrieverVersion, Intent, Feature, Language, CustomerTier,
    GuardrailVersion, ExperimentBucket, OutputFormat, Labels;
