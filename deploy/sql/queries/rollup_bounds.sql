-- live_bounds.sql read from the hourly rollup: first and last trace start, and the traces counted.
-- Placeholders: $filter, $since/$until as in live_traces.sql.
SELECT min(FirstSeen) AS first, max(LastSeen) AS last, sum(Traces) AS partial_rows
FROM trace_rollup
WHERE Hour >= $since AND Hour < $until AND $filter
