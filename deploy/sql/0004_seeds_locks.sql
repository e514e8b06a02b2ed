-- Traces flagged as eval seeds by the sampler's rules. One row per (rule, trace, span): the online
-- processor and the batch run write the same key, so ReplacingMergeTree folds a seed found twice.
CREATE TABLE IF NOT EXISTS seeds
(
    `SeedId` String COMMENT 'Stable id: hash of (Rule, TraceId, SpanId).',
    `Timestamp` DateTime64(3) COMMENT 'When the seed was found.',
    `TraceId` String COMMENT 'Source trace (hex).',
    `SpanId` String COMMENT 'Source span (hex); empty for trace- and slice-level rules.',
    `Rule` LowCardinality(String) COMMENT 'Rule name.',
    `RuleVersion` LowCardinality(String) COMMENT 'Hash of the rule definition that matched.',
    `Level` LowCardinality(String) COMMENT 'span | trace | slice',
    `Mode` LowCardinality(String) COMMENT 'online (collector) | batch (tracelock seeds run)',
    `Matched` Map(LowCardinality(String), String) COMMENT 'The values the condition read, as strings.',
    `RequestModel` LowCardinality(String),
    `PromptVersion` LowCardinality(String),
    `RetrieverVersion` LowCardinality(String),
    `Intent` LowCardinality(String),
    `Feature` LowCardinality(String),
    `Language` LowCardinality(String),
    `CustomerTier` LowCardinality(String),
    `Labels` Map(LowCardinality(String), String) COMMENT 'User-defined labels.',
    `Input` String CODEC(ZSTD(3)) COMMENT 'Input of the source span/trace, when known.',
    `Output` String CODEC(ZSTD(3)) COMMENT 'Output of the source span/trace, when known.'
)
ENGINE = ReplacingMergeTree(Timestamp)
ORDER BY (Rule, TraceId, SpanId)
SETTINGS index_granularity = 8192;

-- Lock cases (regression cases that live in the user's lock files), mirrored here so the coverage report
-- counts them and any lock leads back to its source trace. The YAML file is the source of truth.
CREATE TABLE IF NOT EXISTS locks
(
    `CaseId` String COMMENT 'Case id, unique within the dataset.',
    `Dataset` LowCardinality(String) COMMENT 'Dataset (lock file) name.',
    `DatasetVersion` LowCardinality(String) COMMENT 'Dataset version the case was added in.',
    `LockFile` String COMMENT 'Path of the lock file, relative to the repository.',
    `SourceTraceId` String COMMENT 'Production trace that revealed the bug.',
    `SourceSpanId` String,
    `SeedId` String COMMENT 'Seed the case came from, if any.',
    `SeedRule` LowCardinality(String),
    `FeedbackIds` Array(String) COMMENT 'Complaint/feedback ids behind the case.',
    `RequestModel` LowCardinality(String) COMMENT 'Shared keys of the release the case was locked against.',
    `PromptVersion` LowCardinality(String),
    `RetrieverVersion` LowCardinality(String),
    `Intent` LowCardinality(String),
    `Feature` LowCardinality(String),
    `Language` LowCardinality(String),
    `CustomerTier` LowCardinality(String),
    `Labels` Map(LowCardinality(String), String),
    `Assertions` String COMMENT 'The case''s assertions as JSON.',
    `CreatedAt` DateTime64(3),
    `CreatedBy` String,
    `UpdatedAt` DateTime64(3) COMMENT 'Version column: the newest row for a case wins.'
)
ENGINE = ReplacingMergeTree(UpdatedAt)
ORDER BY (Dataset, CaseId)
SETTINGS index_granularity = 8192;

-- Outcome of each lock case in each gate run, for trends over releases.
CREATE TABLE IF NOT EXISTS lock_results
(
    `CheckRunId` String COMMENT 'One tracelock lock check invocation.',
    `CheckedAt` DateTime64(3),
    `Dataset` LowCardinality(String),
    `DatasetVersion` LowCardinality(String),
    `CaseId` String,
    `Status` LowCardinality(String) COMMENT 'passed | regressed | missing | flaky',
    `Passes` UInt32 COMMENT 'Attempts that passed.',
    `Attempts` UInt32 COMMENT 'Attempts found in the results.',
    `Required` Float64 COMMENT 'Pass fraction the case needed.',
    `ReleaseTag` LowCardinality(String) COMMENT 'Release/commit the results belong to.',
    `EvalRunId` String COMMENT 'Eval run the results came from.',
    `SourceTraceId` String,
    `Details` String COMMENT 'Failed assertions, as JSON.'
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(CheckedAt)
ORDER BY (Dataset, CaseId, CheckedAt)
SETTINGS index_granularity = 8192;
