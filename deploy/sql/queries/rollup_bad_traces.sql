-- The bad traces (complaint or thumbs-down) of live_traces.sql, with its columns, from the hourly
-- rollup's lists: the board's trace list of a slice's bad traces reads these instead of every summary.
-- Placeholders: $slice, $arm, $filter, $since/$until as in live_traces.sql.
SELECT
    bad.TraceId AS TraceId,
    bad.Start AS Start,
    slice,
    arm,
    bad.Complained AS complained,
    bad.ThumbsDown AS thumbs_down,
    bad.ParseFailed AS parse_failed,
    bad.EmptyRetrieval AS empty_retrieval,
    bad.Errored AS errored,
    bad.ContextTokens AS ContextTokens,
    bad.CostUsd AS CostUsd
FROM
(
    SELECT b AS bad, $slice AS slice, $arm AS arm
    FROM trace_rollup
    ARRAY JOIN BadTraceList AS b
    WHERE Hour >= $since AND Hour < $until AND $filter
)
