-- The parts one collector INSERT makes are Compact, not Wide (issue 18, the write path's per-INSERT cost).
-- A batch of 32 768 spans is ~50 MB before compression, over MergeTree's default min_bytes_for_wide_part
-- (10 MB), so every INSERT wrote a Wide part: one file pair per column and substream, 215 files, each
-- created on the filesystem. A Compact part keeps all columns in one data file (13 files): the INSERT
-- costs 20-25 % less CPU at the same batch size (bench/RESULTS.md). Parts of fewer than 131 072 rows (four
-- default batches) stay Compact; the merges that join several batches write Wide parts as before, so
-- queries over merged data read the same layout as ever. Stored parts are not rewritten.
ALTER TABLE otel_traces MODIFY SETTING min_rows_for_wide_part = 131072;
