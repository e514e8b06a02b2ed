-- Online side of the divergence report, in one pass: production outcomes per slice and arm, and
-- (second grouping set) traces and complaints per time bucket and slice for the timeline.
-- Rows of the timeline set have is_timeline = 1. Placeholders: $live (live_totals.sql or
-- live_rollup.sql, embedded) and {bucket_seconds:UInt32} (a bound parameter).
SELECT
    slice,
    arm,
    toStartOfInterval(Start, toIntervalSecond({bucket_seconds:UInt32})) AS bucket,
    grouping(arm) AS is_timeline,
    sum(Traces) AS traces,
    sum(ComplaintTraces) AS complaint_traces,
    sum(ThumbsDownTraces) AS thumbs_down_traces,
    sum(ParseFailureTraces) AS parse_failure_traces,
    sum(EmptyRetrievalTraces) AS empty_retrieval_traces,
    sum(ErrorTraces) AS error_traces,
    sumIf(Traces, arm = 'candidate') AS candidate_traces,
    sum(ContextTokens) / sum(Traces) AS mean_context_tokens,
    toFloat64(sum(CostUsd)) / sum(Traces) AS mean_cost_usd,
    min(FirstSeen) AS first_seen,
    max(LastSeen) AS last_seen,
    groupArraySortedArray(3)(BadExamples) AS bad_examples
FROM ($live)
WHERE arm != ''
GROUP BY GROUPING SETS ((slice, arm), (bucket, slice))
ORDER BY is_timeline, slice, arm, bucket
