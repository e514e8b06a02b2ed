-- One row per trace for the join: shared keys, task labels and outcome signals.
-- Filled by a materialized view on otel_traces, so it is correct whoever writes the spans (tracelock's
-- collector or the contrib exporter) and however many batches a trace's spans arrive in: each insert
-- block adds a partial row per trace, and the SimpleAggregateFunction columns fold partial rows together
-- in background merges. Readers must therefore aggregate again, GROUP BY TraceId, with the same function
-- as each column (max for keys and labels, sum for counts, min/max for Start/End); the view
-- trace_summaries_final does exactly that.
-- String keys use max(): a span that lacks the key contributes '' and loses to any span that has it.
-- Keys and labels are LowCardinality: few distinct values, read by every report.
-- tracelock:shard_by cityHash64(TraceId)
CREATE TABLE IF NOT EXISTS trace_summaries
(
    `TraceId` String CODEC(ZSTD(1)) COMMENT 'Hex trace id, as in otel_traces.',
    `Start` SimpleAggregateFunction(min, DateTime64(9)) COMMENT 'Earliest span start.',
    `End` SimpleAggregateFunction(max, DateTime64(9)) COMMENT 'Latest span end.',
    `ServiceName` SimpleAggregateFunction(max, LowCardinality(String)) COMMENT 'service.name of the spans.',
    `RootSpanName` SimpleAggregateFunction(max, String) COMMENT 'Name of the span without parent.',
    `Origin` SimpleAggregateFunction(min, LowCardinality(String)) COMMENT 'eval when any span of the trace is eval (min: ''eval'' < ''live''), else live.',
    `RequestModel` SimpleAggregateFunction(max, LowCardinality(String)) COMMENT 'gen_ai.request.model',
    `PromptVersion` SimpleAggregateFunction(max, LowCardinality(String)) COMMENT 'gen_ai.prompt.version',
    `RetrieverVersion` SimpleAggregateFunction(max, LowCardinality(String)) COMMENT 'tracelock.retriever.version',
    `GuardrailVersion` SimpleAggregateFunction(max, LowCardinality(String)) COMMENT 'tracelock.guardrail.version',
    `ExperimentBucket` SimpleAggregateFunction(max, LowCardinality(String)) COMMENT 'tracelock.experiment.bucket',
    `Intent` SimpleAggregateFunction(max, LowCardinality(String)) COMMENT 'tracelock.intent',
    `Feature` SimpleAggregateFunction(max, LowCardinality(String)) COMMENT 'tracelock.feature',
    `Language` SimpleAggregateFunction(max, LowCardinality(String)) COMMENT 'tracelock.language',
    `CustomerTier` SimpleAggregateFunction(max, LowCardinality(String)) COMMENT 'tracelock.customer.tier',
    `OutputFormat` SimpleAggregateFunction(max, LowCardinality(String)) COMMENT 'gen_ai.output.type',
    `Labels` SimpleAggregateFunction(maxMap, Map(String, String)) COMMENT 'User-defined labels (tracelock.label.<name>), from span or resource.',
    `SpanCount` SimpleAggregateFunction(sum, UInt64) COMMENT 'Spans seen for the trace.',
    `ErrorCount` SimpleAggregateFunction(sum, UInt64) COMMENT 'Spans with StatusCode Error.',
    `InputTokens` SimpleAggregateFunction(sum, UInt64) COMMENT 'Sum of gen_ai.usage.input_tokens.',
    `OutputTokens` SimpleAggregateFunction(sum, UInt64) COMMENT 'Sum of gen_ai.usage.output_tokens.',
    `ContextTokens` SimpleAggregateFunction(max, UInt64) COMMENT 'Largest tracelock.usage.context_tokens of any span.',
    `CostUsd` SimpleAggregateFunction(sum, Float64) COMMENT 'Sum of tracelock.cost.usd.',
    `ParseFailures` SimpleAggregateFunction(sum, UInt64) COMMENT 'Spans flagged tracelock.parse_failure.',
    `EmptyRetrievals` SimpleAggregateFunction(sum, UInt64) COMMENT 'Spans flagged tracelock.retrieval.empty.',
    `Complaints` SimpleAggregateFunction(sum, UInt64) COMMENT 'Spans flagged tracelock.feedback.complaint (the feedback table holds the rest).',
    INDEX idx_start Start TYPE minmax GRANULARITY 1,
    INDEX idx_prompt PromptVersion TYPE set(256) GRANULARITY 4
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(Start)
ORDER BY TraceId
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS trace_summaries_mv
TO trace_summaries
AS SELECT
    TraceId,
    min(Timestamp) AS Start,
    max(Timestamp + toIntervalNanosecond(Duration)) AS End,
    max(toString(ServiceName)) AS ServiceName,
    max(if(ParentSpanId = '', toString(SpanName), '')) AS RootSpanName,
    min(toString(Origin)) AS Origin,
    max(toString(RequestModel)) AS RequestModel,
    max(toString(PromptVersion)) AS PromptVersion,
    max(toString(RetrieverVersion)) AS RetrieverVersion,
    max(toString(GuardrailVersion)) AS GuardrailVersion,
    max(toString(ExperimentBucket)) AS ExperimentBucket,
    max(toString(Intent)) AS Intent,
    max(toString(Feature)) AS Feature,
    max(toString(Language)) AS Language,
    max(toString(CustomerTier)) AS CustomerTier,
    max(toString(OutputFormat)) AS OutputFormat,
    maxMap(mapApply((k, v) -> (substring(k, 17), v),
        mapFilter((k, v) -> startsWith(k, 'tracelock.label.'),
            mapUpdate(CAST(ResourceAttributes, 'Map(String, String)'), CAST(SpanAttributes, 'Map(String, String)'))))) AS Labels,
    count() AS SpanCount,
    countIf(StatusCode = 'Error') AS ErrorCount,
    sum(InputTokens) AS InputTokens,
    sum(OutputTokens) AS OutputTokens,
    max(ContextTokens) AS ContextTokens,
    sum(CostUsd) AS CostUsd,
    sum(ParseFailure) AS ParseFailures,
    sum(EmptyRetrieval) AS EmptyRetrievals,
    sum(Complaint) AS Complaints
FROM otel_traces
WHERE TraceId != ''
GROUP BY TraceId;

-- Final (fully folded) summaries: what readers use.
CREATE VIEW IF NOT EXISTS trace_summaries_final
AS SELECT
    TraceId,
    min(Start) AS Start,
    max(End) AS End,
    max(ServiceName) AS ServiceName,
    max(RootSpanName) AS RootSpanName,
    min(Origin) AS Origin,
    max(RequestModel) AS RequestModel,
    max(PromptVersion) AS PromptVersion,
    max(RetrieverVersion) AS RetrieverVersion,
    max(GuardrailVersion) AS GuardrailVersion,
    max(ExperimentBucket) AS ExperimentBucket,
    max(Intent) AS Intent,
    max(Feature) AS Feature,
    max(Language) AS Language,
    max(CustomerTier) AS CustomerTier,
    max(OutputFormat) AS OutputFormat,
    maxMap(Labels) AS Labels,
    sum(SpanCount) AS SpanCount,
    sum(ErrorCount) AS ErrorCount,
    sum(InputTokens) AS InputTokens,
    sum(OutputTokens) AS OutputTokens,
    max(ContextTokens) AS ContextTokens,
    sum(CostUsd) AS CostUsd,
    sum(ParseFailures) AS ParseFailures,
    sum(EmptyRetrievals) AS EmptyRetrievals,
    sum(Complaints) AS Complaints
FROM trace_summaries
GROUP BY TraceId;
