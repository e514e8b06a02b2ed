-- Background merges of otel_traces read each part in blocks of 1 024 rows instead of 8 192 (issue 18,
-- the collector's peak RSS). A merge holds a block of every part it joins, all columns at once until a
-- merge is large enough to go column by column: at ~1.7 KB an otel_traces row in memory, four to six
-- 32 768-span batches merged held ~60 MB in the embedded collector, a tenth of its peak. 1 024-row blocks
-- took 25-30 MB off that peak at the same merge CPU (bench/RESULTS.md); stored parts are not rewritten.
ALTER TABLE otel_traces MODIFY SETTING merge_max_block_size = 1024;
