-- Exactly once across a crash at a cost independent of the table size (issue 14): the collector gives each
-- batch insert a token (insert_deduplication_token) kept in its WAL until the batch is checkpointed, and
-- replays an interrupted batch under the same token. These tables remember the tokens of their last 1000
-- inserted blocks and skip a block whose token they have seen: the spans table, and the tables its
-- materialized views fill (the insert sets deduplicate_blocks_in_dependent_materialized_views, so a
-- skipped batch is not counted twice in trace_summaries, otel_traces_trace_id_ts or eval_records either).
-- Replicated tables (cluster) deduplicate by replicated_deduplication_window already: the cluster DDL
-- leaves these statements out.
ALTER TABLE otel_traces MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE otel_traces_trace_id_ts MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE trace_summaries MODIFY SETTING non_replicated_deduplication_window = 1000;
ALTER TABLE eval_records MODIFY SETTING non_replicated_deduplication_window = 1000;
