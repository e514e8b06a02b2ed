-- OTLP logs, column for column the logs table of the OpenTelemetry Collector contrib ClickHouse exporter
-- (exporter/clickhouseexporter/internal/sqltemplates/logs_table.sql, Map variant, with EventName): same
-- names, types, codecs, skip indexes, partitioning and ORDER BY, so either writer can fill it and the
-- exporter's Grafana queries read it. GenAI instrumentation sends prompts, completions and evaluation
-- results here as log events; TraceId/SpanId (hex, as in otel_traces) link them to their span.
-- tracelock:shard_by cityHash64(TraceId)
CREATE TABLE IF NOT EXISTS otel_logs
(
    `Timestamp` DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    `TimestampTime` DateTime DEFAULT toDateTime(Timestamp),
    `TraceId` String CODEC(ZSTD(1)),
    `SpanId` String CODEC(ZSTD(1)),
    `TraceFlags` UInt8,
    `SeverityText` LowCardinality(String) CODEC(ZSTD(1)),
    `SeverityNumber` UInt8,
    `ServiceName` LowCardinality(String) CODEC(ZSTD(1)),
    `Body` String CODEC(ZSTD(1)),
    `ResourceSchemaUrl` LowCardinality(String) CODEC(ZSTD(1)),
    `ResourceAttributes` Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    `ScopeSchemaUrl` LowCardinality(String) CODEC(ZSTD(1)),
    `ScopeName` String CODEC(ZSTD(1)),
    `ScopeVersion` LowCardinality(String) CODEC(ZSTD(1)),
    `ScopeAttributes` Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    `LogAttributes` Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    `EventName` String CODEC(ZSTD(1)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_key mapKeys(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_scope_attr_value mapValues(ScopeAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_value mapValues(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_body Body TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8
)
ENGINE = MergeTree()
PARTITION BY toDate(TimestampTime)
PRIMARY KEY (ServiceName, TimestampTime)
ORDER BY (ServiceName, TimestampTime, Timestamp)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

-- gen_ai.evaluation.result sent as a log event (the OTel GenAI convention's event, through the Logs
-- API) becomes an eval_records row, as the same event on a span does (0020): the run is
-- 'otel:<service>', the case the evaluated span and the evaluation's name (events arrive one by one, so
-- each is its own row; eval_records replaces rows of one case), linked by TraceId/SpanId. Any writer of
-- otel_logs (tracelock's collector or the contrib exporter) produces them.
CREATE MATERIALIZED VIEW IF NOT EXISTS eval_records_from_log_events_mv
TO eval_records
AS SELECT
    Timestamp,
    concat('otel:', toString(ServiceName)) AS EvalRunId,
    concat(SpanId, '#', LogAttributes['gen_ai.evaluation.name']) AS CaseId,
    toUInt16(0) AS Repeat,
    LogAttributes['gen_ai.request.model'] AS RequestModel,
    LogAttributes['gen_ai.prompt.version'] AS PromptVersion,
    toFloat64OrZero(LogAttributes['gen_ai.evaluation.score.value']) AS Score,
    map(LogAttributes['gen_ai.evaluation.name'], toFloat64OrZero(LogAttributes['gen_ai.evaluation.score.value'])) AS Scores,
    if(LogAttributes['gen_ai.evaluation.score.label'] != '',
        map(LogAttributes['gen_ai.evaluation.name'], LogAttributes['gen_ai.evaluation.score.label']),
        map()) AS ScoreLabels,
    if(LogAttributes['gen_ai.evaluation.score.label'] != '',
        lower(LogAttributes['gen_ai.evaluation.score.label']) IN ('pass', 'passed', 'true', 'correct', 'yes'),
        toFloat64OrZero(LogAttributes['gen_ai.evaluation.score.value']) >= 0.5) AS Passed,
    LogAttributes['error.type'] AS Error,
    LogAttributes['gen_ai.evaluation.explanation'] AS Output,
    TraceId, SpanId,
    'otlp-log-event' AS Source
FROM otel_logs
WHERE EventName = 'gen_ai.evaluation.result';
