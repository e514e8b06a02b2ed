-- Complaint rate over time per slice, with how much of the traffic ran the candidate (the rollout).
-- Placeholders: as live_traces.sql, plus {bucket_seconds:UInt32} (a bound parameter).
SELECT
    toStartOfInterval(Start, toIntervalSecond({bucket_seconds:UInt32})) AS bucket,
    slice,
    count() AS traces,
    countIf(complained) AS complaint_traces,
    countIf(arm = 'candidate') AS candidate_traces
FROM ($live_traces)
WHERE arm != ''
GROUP BY bucket, slice
ORDER BY bucket, slice
