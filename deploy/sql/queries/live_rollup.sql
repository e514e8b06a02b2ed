-- The columns of live_totals.sql read from the hourly rollup (deploy/sql/0080_trace_rollup.sql): one row
-- per hour and combination of keys and labels, Start being the hour. Equal to live_totals.sql summed
-- per slice when the window's ends are whole hours and time buckets whole multiples of an hour
-- (report/rollup.py decides when it may be read).
-- Placeholders: $slice, $arm, $filter, $since/$until as in live_traces.sql.
SELECT
    Hour AS Start,
    $slice AS slice,
    $arm AS arm,
    Traces, ComplaintTraces, ThumbsDownTraces, BadTraces, CoveredBadTraces, ParseFailureTraces,
    EmptyRetrievalTraces, ErrorTraces, ContextTokens, CostUsd, FirstSeen, LastSeen, BadExamples
FROM trace_rollup
WHERE Hour >= $since AND Hour < $until AND $filter
