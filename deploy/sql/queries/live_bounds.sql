-- First and last trace start of the traces a report will read, for sizing the timeline's buckets.
-- Read without FINAL (a bound off by a partial row does not matter here), so it costs one cheap scan.
-- Placeholders: $filter, $since/$until as in live_traces.sql.
SELECT min(Start) AS first, max(Start) AS last, count() AS partial_rows
FROM trace_summaries
WHERE Origin = 'live' AND Start >= $since AND Start < $until AND $filter
