-- Coverage report: slices of production traces with complaints or thumbs-down, each with how many of
-- those bad traces already became an eval case or a lock (their source trace), and the number of eval
-- cases and lock cases that carry the same labels. report/coverage.py ranks them by the gap.
-- Placeholders: $live (live_totals.sql or live_rollup.sql, embedded), $eval_slice/$eval_filter over
-- eval_records, $lock_slice over locks (a dimension locks do not record reads as '').
WITH live AS ($live)
SELECT
    o.slice AS slice,
    o.traces AS traces,
    o.complaint_traces AS complaint_traces,
    o.thumbs_down_traces AS thumbs_down_traces,
    o.bad_traces AS bad_traces,
    o.covered_bad_traces AS covered_bad_traces,
    o.bad_examples AS bad_examples,
    e.eval_cases AS eval_cases,
    e.eval_attempts AS eval_attempts,
    l.locks AS locks
FROM
(
    SELECT
        slice,
        sum(Traces) AS traces,
        sum(ComplaintTraces) AS complaint_traces,
        sum(ThumbsDownTraces) AS thumbs_down_traces,
        sum(BadTraces) AS bad_traces,
        sum(CoveredBadTraces) AS covered_bad_traces,
        groupArraySortedArray(3)(BadExamples) AS bad_examples
    FROM live
    GROUP BY slice
) AS o
LEFT JOIN
(
    SELECT $eval_slice AS slice, uniqExact(DatasetId, CaseId) AS eval_cases, count() AS eval_attempts
    FROM eval_records FINAL
    WHERE $eval_filter
    GROUP BY slice
) AS e ON e.slice = o.slice
LEFT JOIN
(
    SELECT $lock_slice AS slice, count() AS locks
    FROM locks FINAL
    GROUP BY slice
) AS l ON l.slice = o.slice
WHERE o.bad_traces > 0
ORDER BY o.bad_traces DESC, o.slice
