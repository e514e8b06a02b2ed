-- Spans, column for column the traces table of the OpenTelemetry Collector contrib ClickHouse exporter
-- (exporter/clickhouseexporter, Map variant): same names, types, codecs, skip indexes, partitioning and
-- ORDER BY. A team already running that exporter can point tracelock at its table, and the reverse.
-- tracelock adds only MATERIALIZED columns after the exporter's 22: they are computed by ClickHouse on
-- insert, so the exporter's INSERT (which names its columns) is unaffected, and filters on the shared keys
-- read one small LowCardinality column instead of scanning the attribute Map.
-- A shared key is read from the span first and from the resource when the span does not carry it
-- (process-constant version keys live on the Resource).
-- tracelock:shard_by cityHash64(TraceId)
CREATE TABLE IF NOT EXISTS otel_traces
(
    `Timestamp` DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    `TraceId` String CODEC(ZSTD(1)),
    `SpanId` String CODEC(ZSTD(1)),
    `ParentSpanId` String CODEC(ZSTD(1)),
    `TraceState` String CODEC(ZSTD(1)),
    `SpanName` LowCardinality(String) CODEC(ZSTD(1)),
    `SpanKind` LowCardinality(String) CODEC(ZSTD(1)),
    `ServiceName` LowCardinality(String) CODEC(ZSTD(1)),
    `ResourceAttributes` Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    `ScopeName` String CODEC(ZSTD(1)),
    `ScopeVersion` String CODEC(ZSTD(1)),
    `SpanAttributes` Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    `Duration` UInt64 CODEC(ZSTD(1)),
    `StatusCode` LowCardinality(String) CODEC(ZSTD(1)),
    `StatusMessage` String CODEC(ZSTD(1)),
    `Events.Timestamp` Array(DateTime64(9)) CODEC(ZSTD(1)),
    `Events.Name` Array(LowCardinality(String)) CODEC(ZSTD(1)),
    `Events.Attributes` Array(Map(LowCardinality(String), String)) CODEC(ZSTD(1)),
    `Links.TraceId` Array(String) CODEC(ZSTD(1)),
    `Links.SpanId` Array(String) CODEC(ZSTD(1)),
    `Links.TraceState` Array(String) CODEC(ZSTD(1)),
    `Links.Attributes` Array(Map(LowCardinality(String), String)) CODEC(ZSTD(1)),
    -- tracelock extras (MATERIALIZED: never named by an INSERT).
    `Origin` LowCardinality(String) MATERIALIZED if(SpanAttributes['tracelock.origin'] != '', SpanAttributes['tracelock.origin'], if(ResourceAttributes['tracelock.origin'] != '', ResourceAttributes['tracelock.origin'], 'live')) COMMENT 'live or eval (tracelock.origin); spans without it are live.',
    `RequestModel` LowCardinality(String) MATERIALIZED if(SpanAttributes['gen_ai.request.model'] != '', SpanAttributes['gen_ai.request.model'], ResourceAttributes['gen_ai.request.model']) COMMENT 'gen_ai.request.model',
    `PromptVersion` LowCardinality(String) MATERIALIZED if(SpanAttributes['gen_ai.prompt.version'] != '', SpanAttributes['gen_ai.prompt.version'], ResourceAttributes['gen_ai.prompt.version']) COMMENT 'gen_ai.prompt.version',
    `RetrieverVersion` LowCardinality(String) MATERIALIZED if(SpanAttributes['tracelock.retriever.version'] != '', SpanAttributes['tracelock.retriever.version'], ResourceAttributes['tracelock.retriever.version']) COMMENT 'tracelock.retriever.version',
    `GuardrailVersion` LowCardinality(String) MATERIALIZED if(SpanAttributes['tracelock.guardrail.version'] != '', SpanAttributes['tracelock.guardrail.version'], ResourceAttributes['tracelock.guardrail.version']) COMMENT 'tracelock.guardrail.version',
    `ExperimentBucket` LowCardinality(String) MATERIALIZED if(SpanAttributes['tracelock.experiment.bucket'] != '', SpanAttributes['tracelock.experiment.bucket'], ResourceAttributes['tracelock.experiment.bucket']) COMMENT 'tracelock.experiment.bucket',
    `Intent` LowCardinality(String) MATERIALIZED if(SpanAttributes['tracelock.intent'] != '', SpanAttributes['tracelock.intent'], ResourceAttributes['tracelock.intent']) COMMENT 'tracelock.intent',
    `Feature` LowCardinality(String) MATERIALIZED if(SpanAttributes['tracelock.feature'] != '', SpanAttributes['tracelock.feature'], ResourceAttributes['tracelock.feature']) COMMENT 'tracelock.feature',
    `Language` LowCardinality(String) MATERIALIZED if(SpanAttributes['tracelock.language'] != '', SpanAttributes['tracelock.language'], ResourceAttributes['tracelock.language']) COMMENT 'tracelock.language',
    `CustomerTier` LowCardinality(String) MATERIALIZED if(SpanAttributes['tracelock.customer.tier'] != '', SpanAttributes['tracelock.customer.tier'], ResourceAttributes['tracelock.customer.tier']) COMMENT 'tracelock.customer.tier',
    `OutputFormat` LowCardinality(String) MATERIALIZED if(SpanAttributes['gen_ai.output.type'] != '', SpanAttributes['gen_ai.output.type'], ResourceAttributes['gen_ai.output.type']) COMMENT 'gen_ai.output.type',
    `InputTokens` UInt64 MATERIALIZED toUInt64OrZero(SpanAttributes['gen_ai.usage.input_tokens']) COMMENT 'gen_ai.usage.input_tokens',
    `OutputTokens` UInt64 MATERIALIZED toUInt64OrZero(SpanAttributes['gen_ai.usage.output_tokens']) COMMENT 'gen_ai.usage.output_tokens',
    `ContextTokens` UInt64 MATERIALIZED toUInt64OrZero(SpanAttributes['tracelock.usage.context_tokens']) COMMENT 'tracelock.usage.context_tokens: tokens of retrieved/tool context placed in the prompt.',
    `CostUsd` Float64 MATERIALIZED toFloat64OrZero(SpanAttributes['tracelock.cost.usd']) COMMENT 'tracelock.cost.usd',
    `ParseFailure` UInt8 MATERIALIZED SpanAttributes['tracelock.parse_failure'] IN ('true', '1') COMMENT 'tracelock.parse_failure: tool/JSON output failed to parse.',
    `EmptyRetrieval` UInt8 MATERIALIZED SpanAttributes['tracelock.retrieval.empty'] IN ('true', '1') COMMENT 'tracelock.retrieval.empty: a retrieval returned zero documents.',
    `Complaint` UInt8 MATERIALIZED SpanAttributes['tracelock.feedback.complaint'] IN ('true', '1') COMMENT 'tracelock.feedback.complaint stamped on the span by the app (the feedback table holds the rest).',
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1
)
ENGINE = MergeTree()
PARTITION BY toDate(Timestamp)
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp))
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

-- The exporter's trace-id lookup table and its materialized view, kept identical so its Grafana
-- queries (min(Start)/max(End) by TraceId, then otel_traces on that window) work unchanged.
-- tracelock:shard_by cityHash64(TraceId)
CREATE TABLE IF NOT EXISTS otel_traces_trace_id_ts
(
    `TraceId` String CODEC(ZSTD(1)),
    `Start` DateTime CODEC(Delta(4), ZSTD(1)),
    `End` DateTime CODEC(Delta(4), ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = MergeTree()
PARTITION BY toDate(Start)
ORDER BY (TraceId, Start)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS otel_traces_trace_id_ts_mv
TO otel_traces_trace_id_ts
AS SELECT
    TraceId,
    min(Timestamp) AS Start,
    max(Timestamp) AS End
FROM otel_traces
WHERE TraceId != ''
GROUP BY TraceId;
