-- Which (view, day window) `tracelock init --backfill` has finished, so a second run, or one after an
-- interruption, does not fold the same rows twice (store/backfill.py).
CREATE TABLE IF NOT EXISTS backfill_progress
(
    `View` LowCardinality(String) COMMENT 'The materialized view whose SELECT was run.',
    `WindowStart` DateTime COMMENT 'Start of the day of source rows it ran over (UTC).',
    `DoneAt` DateTime COMMENT 'When that window was inserted.'
)
ENGINE = ReplacingMergeTree(DoneAt)
ORDER BY (View, WindowStart);
