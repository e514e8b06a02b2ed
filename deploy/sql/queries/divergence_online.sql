-- Online side of the divergence report, in one pass over the traces: production outcomes per slice
-- and arm, and (second grouping set) traces and complaints per time bucket and slice for the timeline.
-- Rows of the timeline set have is_timeline = 1. Placeholders: $live_traces (embedded) and
-- {bucket_seconds:UInt32} (a bound parameter).
SELECT
    slice,
    arm,
    toStartOfInterval(Start, toIntervalSecond({bucket_seconds:UInt32})) AS bucket,
    grouping(arm) AS is_timeline,
    count() AS traces,
    countIf(complained) AS complaint_traces,
    countIf(thumbs_down) AS thumbs_down_traces,
    countIf(parse_failed) AS parse_failure_traces,
    countIf(empty_retrieval) AS empty_retrieval_traces,
    countIf(errored) AS error_traces,
    countIf(arm = 'candidate') AS candidate_traces,
    avg(ContextTokens) AS mean_context_tokens,
    avg(CostUsd) AS mean_cost_usd,
    min(Start) AS first_seen,
    max(Start) AS last_seen,
    groupArraySortedIf(3)(TraceId, complained OR thumbs_down) AS bad_examples
FROM ($live_traces)
WHERE arm != ''
GROUP BY GROUPING SETS ((slice, arm), (bucket, slice))
ORDER BY is_timeline, slice, arm, bucket
