-- One row per production trace in the window: its slice, its arm (baseline/candidate), outcome flags.
-- The building block of every report; the other templates embed it as $live_traces.
-- trace_summaries is read with FINAL, which folds the partial rows of a trace (spans that arrived in
-- different batches) with each column's aggregate function before the WHERE is applied.
-- A trace counts as complained when any span was stamped tracelock.feedback.complaint or the feedback
-- table holds a complaint for it; thumbs-down comes from the feedback table. Feedback is read as two
-- sets of trace ids (cheaper than a join: the trace side is large, the feedback side small).
-- Placeholders: $slice (Array(String) of the --by values), $arm ('baseline' | 'candidate' | ''),
-- $filter (which traces to keep), $since/$until (bound DateTime64 parameters).
SELECT
    TraceId,
    Start,
    $slice AS slice,
    $arm AS arm,
    (Complaints > 0 OR TraceId IN (SELECT TraceId FROM feedback FINAL WHERE Kind = 'complaint')) AS complained,
    TraceId IN (SELECT TraceId FROM feedback FINAL WHERE Kind = 'thumbs_down') AS thumbs_down,
    ParseFailures > 0 AS parse_failed,
    EmptyRetrievals > 0 AS empty_retrieval,
    ErrorCount > 0 AS errored,
    ContextTokens,
    CostUsd
FROM trace_summaries FINAL
WHERE Origin = 'live' AND Start >= $since AND Start < $until AND $filter
