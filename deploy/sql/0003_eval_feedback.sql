-- One row per eval example (a case run once; repeats are separate rows), carrying the same shared keys
-- and task labels as trace_summaries so the two join on them.
-- ReplacingMergeTree on (run, case, repeat): re-importing a result file or replaying an export does not
-- double-count; readers that need exact counts use FINAL.
CREATE TABLE IF NOT EXISTS eval_records
(
    `Timestamp` DateTime64(9) CODEC(Delta(8), ZSTD(1)) COMMENT 'When the case ran.',
    `EvalRunId` String CODEC(ZSTD(1)) COMMENT 'tracelock.eval.run_id: one run of a dataset through a task.',
    `CaseId` String CODEC(ZSTD(1)) COMMENT 'tracelock.eval.case_id: case within the dataset.',
    `Repeat` UInt16 COMMENT 'tracelock.eval.repeat: 0-based repetition of the case within the run.',
    `DatasetId` LowCardinality(String) COMMENT 'tracelock.dataset.id',
    `DatasetVersion` LowCardinality(String) COMMENT 'tracelock.dataset.version',
    `RequestModel` LowCardinality(String) COMMENT 'gen_ai.request.model',
    `PromptVersion` LowCardinality(String) COMMENT 'gen_ai.prompt.version',
    `RetrieverVersion` LowCardinality(String) COMMENT 'tracelock.retriever.version',
    `GuardrailVersion` LowCardinality(String) COMMENT 'tracelock.guardrail.version',
    `ExperimentBucket` LowCardinality(String) COMMENT 'tracelock.experiment.bucket',
    `Intent` LowCardinality(String) COMMENT 'tracelock.intent',
    `Feature` LowCardinality(String) COMMENT 'tracelock.feature',
    `Language` LowCardinality(String) COMMENT 'tracelock.language',
    `CustomerTier` LowCardinality(String) COMMENT 'tracelock.customer.tier',
    `OutputFormat` LowCardinality(String) COMMENT 'gen_ai.output.type',
    `Labels` Map(LowCardinality(String), String) COMMENT 'User-defined labels (tracelock.label.<name> without the prefix).',
    `Score` Float64 COMMENT 'Primary score in [0, 1] (tracelock.eval.score).',
    `Scores` Map(LowCardinality(String), Float64) COMMENT 'Every scorer by name (gen_ai.evaluation.name -> score.value).',
    `ScoreLabels` Map(LowCardinality(String), String) COMMENT 'gen_ai.evaluation.score.label by scorer.',
    `Passed` UInt8 COMMENT '1 when the case passed its scorers.',
    `Error` String COMMENT 'Task or scorer error, empty when none; such cases are recorded, not dropped.',
    `JudgeModel` LowCardinality(String) COMMENT 'tracelock.judge.model: model of an LLM judge, if any.',
    `JudgeVersion` LowCardinality(String) COMMENT 'tracelock.judge.version',
    `Input` String CODEC(ZSTD(3)) COMMENT 'Case input (JSON text).',
    `Output` String CODEC(ZSTD(3)) COMMENT 'Task output.',
    `Expected` String CODEC(ZSTD(3)) COMMENT 'Expected output, if any.',
    `ArtifactsUrl` String COMMENT 'Link to output artifacts.',
    `TraceId` String COMMENT 'The eval span''s trace (hex), linking to otel_traces.',
    `SpanId` String COMMENT 'The eval span (hex).',
    `SourceTraceId` String COMMENT 'Production trace the case came from (locks/seeds), if any.',
    `SourceSpanId` String COMMENT 'Production span the case came from, if any.',
    `InputTokens` UInt64 COMMENT 'gen_ai.usage.input_tokens summed over the case.',
    `OutputTokens` UInt64 COMMENT 'gen_ai.usage.output_tokens summed over the case.',
    `ContextTokens` UInt64 COMMENT 'tracelock.usage.context_tokens, largest in the case.',
    `CostUsd` Float64 COMMENT 'tracelock.cost.usd summed over the case.',
    `ParseFailure` UInt8 COMMENT '1 when a tool/JSON output failed to parse in the case.',
    `LatencyMs` Float64 COMMENT 'Wall time of the task call.',
    `Source` LowCardinality(String) COMMENT 'Where the record came from: sdk, otlp-event, import-jsonl, import-promptfoo.'
)
ENGINE = ReplacingMergeTree(Timestamp)
PARTITION BY toYYYYMM(Timestamp)
ORDER BY (PromptVersion, RequestModel, DatasetId, EvalRunId, CaseId, Repeat)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

-- User feedback linked to traces by id. Feedback may arrive before its trace; it is kept all the same.
CREATE TABLE IF NOT EXISTS feedback
(
    `FeedbackId` String COMMENT 'Unique id (client-supplied or generated); re-sending the same id is idempotent.',
    `Timestamp` DateTime64(3) CODEC(Delta(8), ZSTD(1)) COMMENT 'When the feedback was given (UTC).',
    `TraceId` String COMMENT 'Hex trace id the feedback is about.',
    `SpanId` String COMMENT 'Hex span id, if the feedback is about one span.',
    `Kind` LowCardinality(String) COMMENT 'complaint | thumbs_down | thumbs_up | rating | comment',
    `Value` Float64 COMMENT 'Rating value (or 1 for complaint/thumbs).',
    `Comment` String CODEC(ZSTD(3)) COMMENT 'Free text from the user or support agent.',
    `CustomerId` String COMMENT 'Customer account, if known.',
    `UserId` String COMMENT 'End user, if known.',
    `Source` LowCardinality(String) COMMENT 'Where it came from: api, cli, support-tool, ...',
    `Attributes` Map(LowCardinality(String), String) COMMENT 'Anything else the sender attached.'
)
ENGINE = ReplacingMergeTree(Timestamp)
PARTITION BY toYYYYMM(Timestamp)
ORDER BY (TraceId, FeedbackId)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;
