-- Bookkeeping for the schema itself: one row per migration file applied, so upgrades run in order, once.
CREATE TABLE IF NOT EXISTS schema_migrations
(
    `Version`   UInt32 COMMENT 'Number prefix of the migration file (0001_xxx.sql -> 1).',
    `Name`      String COMMENT 'File name of the migration.',
    `Checksum`  String COMMENT 'SHA-256 of the file as applied; a changed file is reported, never re-run.',
    `AppliedAt` DateTime64(3) COMMENT 'When this store applied it (UTC).'
)
ENGINE = ReplacingMergeTree(AppliedAt)
ORDER BY Version;
