-- Offline side of the divergence report: eval results per slice and arm, on the same keys and labels.
-- eval_records is a ReplacingMergeTree on (run, case, repeat): FINAL so a re-import counts once.
-- Placeholders: $slice, $arm (as in live_traces.sql, over eval_records' columns), $filter.
SELECT
    $slice AS slice,
    $arm AS arm,
    count() AS attempts,
    uniqExact(DatasetId, CaseId) AS cases,
    sum(Passed) AS passes,
    avg(Score) AS mean_score,
    countIf(Error != '') AS errors,
    uniqExact(EvalRunId) AS runs
FROM eval_records FINAL
WHERE $filter
GROUP BY slice, arm
HAVING arm != ''
ORDER BY slice, arm
