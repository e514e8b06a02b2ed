-- The production traces of live_traces.sql in the shape every report template adds up: one row per trace
-- whose counts are 0 or 1. live_rollup.sql gives the same columns from the hourly rollup (one row per
-- hour and slice, the counts summed), so a template written over this shape reads either.
-- Columns (named as the rollup's): Start, slice, arm; Traces, ComplaintTraces, ThumbsDownTraces,
-- BadTraces, CoveredBadTraces, ParseFailureTraces, EmptyRetrievalTraces, ErrorTraces (counts);
-- ContextTokens, CostUsd (sums; a mean is the sum over Traces); FirstSeen, LastSeen; BadExamples (bad
-- trace ids: the three smallest of their union are a slice's examples). CostUsd is a Decimal(12 places),
-- so its sums are exact in any order: an hour's sum plus the next is the sum of both hours' traces (a
-- cost that is not finite, or 1e20 USD or more, counts as 0 rather than making every mean NaN).
-- Placeholders: $live_traces (embedded); $covered: covered.sql when the report counts covered bad
-- traces (coverage), else 0 (ClickHouse builds an IN set even for a column nobody reads: ~0.2 s).
SELECT
    Start,
    slice,
    arm,
    toUInt64(1) AS Traces,
    toUInt64(complained) AS ComplaintTraces,
    toUInt64(thumbs_down) AS ThumbsDownTraces,
    toUInt64(complained OR thumbs_down) AS BadTraces,
    toUInt64((complained OR thumbs_down) AND $covered) AS CoveredBadTraces,
    toUInt64(parse_failed) AS ParseFailureTraces,
    toUInt64(empty_retrieval) AS EmptyRetrievalTraces,
    toUInt64(errored) AS ErrorTraces,
    ContextTokens,
    toDecimal128(if(isFinite(CostUsd) AND abs(CostUsd) < 1e20, CostUsd, 0), 12) AS CostUsd,
    Start AS FirstSeen,
    Start AS LastSeen,
    if(complained OR thumbs_down, [TraceId], []) AS BadExamples
FROM ($live_traces)
