-- Online side of the divergence report: production outcomes per slice and arm.
SELECT
    slice,
    arm,
    count() AS traces,
    countIf(complained) AS complaint_traces,
    countIf(thumbs_down) AS thumbs_down_traces,
    countIf(parse_failed) AS parse_failure_traces,
    countIf(empty_retrieval) AS empty_retrieval_traces,
    countIf(errored) AS error_traces,
    avg(ContextTokens) AS mean_context_tokens,
    avg(CostUsd) AS mean_cost_usd,
    min(Start) AS first_seen,
    max(Start) AS last_seen,
    groupArraySortedIf(3)(TraceId, complained OR thumbs_down) AS bad_examples,
    groupArraySorted(3)(TraceId) AS examples
FROM ($live_traces)
WHERE arm != ''
GROUP BY slice, arm
ORDER BY slice, arm
