-- One row per production trace in the window: its slice, its arm (baseline/candidate), outcome flags.
-- The building block of every report; the other templates embed it as $live_traces.
-- trace_summaries is read with FINAL, which folds the partial rows of a trace (spans that arrived in
-- different batches) with each column's aggregate function before the WHERE is applied.
-- A trace counts as complained when any span was stamped tracelock.feedback.complaint or the feedback
-- table holds a complaint for it; thumbs-down comes from the feedback table.
-- Placeholders: $slice (Array(String) of the --by values), $arm ('baseline' | 'candidate' | ''),
-- $filter (which traces to keep), $since/$until (bound DateTime64 parameters).
SELECT
    t.TraceId AS TraceId,
    t.Start AS Start,
    $slice AS slice,
    $arm AS arm,
    (t.Complaints > 0 OR f.complaint = 1) AS complained,
    f.thumbs_down = 1 AS thumbs_down,
    t.ParseFailures > 0 AS parse_failed,
    t.EmptyRetrievals > 0 AS empty_retrieval,
    t.ErrorCount > 0 AS errored,
    t.ContextTokens AS ContextTokens,
    t.CostUsd AS CostUsd
FROM trace_summaries AS t FINAL
LEFT JOIN
(
    SELECT TraceId, max(Kind = 'complaint') AS complaint, max(Kind = 'thumbs_down') AS thumbs_down
    FROM feedback FINAL
    WHERE Kind IN ('complaint', 'thumbs_down')
    GROUP BY TraceId
) AS f ON f.TraceId = t.TraceId
WHERE t.Origin = 'live' AND t.Start >= $since AND t.Start < $until AND $filter
