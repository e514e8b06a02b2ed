-- The collector's write API (collector/write_api.py) stores each acknowledged request exactly once.
-- Two layers: this log answers a retried request (same Idempotency-Key, same body) with the first
-- answer and refuses the key reused for another body; the engine's insert deduplication (the key sent
-- as insert_deduplication_token) drops the rows of a retry that comes after a crash between the insert
-- and its log row. Plain MergeTree tables deduplicate inserts only with a window, set here for the
-- tables the API writes (replicated tables keep their replicated_deduplication_window).
CREATE TABLE IF NOT EXISTS write_requests
(
    `IdempotencyKey` String COMMENT 'The request''s Idempotency-Key (or the sha256 of its body).',
    `TableName` LowCardinality(String) COMMENT 'Table the rows went to.',
    `BodySha256` String COMMENT 'sha256 of the request body: the same key with another body is refused.',
    `Rows` UInt32 COMMENT 'Rows written.',
    `ReceivedAt` DateTime64(3) COMMENT 'When the request was acknowledged (UTC).'
)
ENGINE = ReplacingMergeTree(ReceivedAt)
ORDER BY IdempotencyKey
TTL toDateTime(ReceivedAt) + toIntervalDay(30)
SETTINGS index_granularity = 8192;

ALTER TABLE eval_records MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE feedback MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE seeds MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE locks MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE lock_results MODIFY SETTING non_replicated_deduplication_window = 10000;
