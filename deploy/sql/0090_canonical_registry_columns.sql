-- A table only tracelock's collector writes reads the canonical keys alone (issue 15, write-path budget).
-- Migration 0040 gave every registry column a fallback to the aliases and JSON members, for rows of other
-- writers (the contrib ClickHouse exporter). ClickHouse evaluates every branch of a MATERIALIZED
-- expression on insert, whatever short_circuit_function_evaluation says, so those chains (~200 expression
-- nodes) cost each of tracelock's own rows ~3.7 us although the stamped branch never takes them
-- (bench/registry_columns.py). This redefines the 15 columns that have fallbacks to their canonical read,
-- the same expression 0040 used for rows stamped tracelock.origin; stored rows keep their values.
-- Skipped when the table has other writers: one adopted in the same run (tracelock init on a contrib
-- exporter's table), or holding spans without the tracelock.origin stamp. tracelock init --other-writers
-- puts the fallbacks back (semconv/columns.py render_writers_change; store/schema.py).
-- Rendered from tracelock/semconv by render_writers_change(Writers.TRACELOCK); do not edit by hand.
-- tracelock:unless_other_writers
ALTER TABLE otel_traces
    MODIFY COLUMN `RequestModel` LowCardinality(String) MATERIALIZED multiIf(SpanAttributes['gen_ai.request.model'] != '', SpanAttributes['gen_ai.request.model'], ResourceAttributes['gen_ai.request.model'] != '', ResourceAttributes['gen_ai.request.model'], '') COMMENT 'gen_ai.request.model: Model the application asked for.',
    MODIFY COLUMN `ResponseModel` LowCardinality(String) MATERIALIZED SpanAttributes['gen_ai.response.model'] COMMENT 'gen_ai.response.model: Model that actually answered (may differ when a provider routes or falls back).',
    MODIFY COLUMN `ProviderName` LowCardinality(String) MATERIALIZED multiIf(SpanAttributes['gen_ai.provider.name'] != '', SpanAttributes['gen_ai.provider.name'], ResourceAttributes['gen_ai.provider.name'] != '', ResourceAttributes['gen_ai.provider.name'], '') COMMENT 'gen_ai.provider.name: GenAI provider; replaces the deprecated gen_ai.system.',
    MODIFY COLUMN `PromptName` LowCardinality(String) MATERIALIZED multiIf(SpanAttributes['gen_ai.prompt.name'] != '', SpanAttributes['gen_ai.prompt.name'], ResourceAttributes['gen_ai.prompt.name'] != '', ResourceAttributes['gen_ai.prompt.name'], '') COMMENT 'gen_ai.prompt.name: Name of the prompt template.',
    MODIFY COLUMN `PromptVersion` LowCardinality(String) MATERIALIZED multiIf(SpanAttributes['gen_ai.prompt.version'] != '', SpanAttributes['gen_ai.prompt.version'], ResourceAttributes['gen_ai.prompt.version'] != '', ResourceAttributes['gen_ai.prompt.version'], '') COMMENT 'gen_ai.prompt.version: Version of the prompt template (string form, also for integer versions).',
    MODIFY COLUMN `Intent` LowCardinality(String) MATERIALIZED SpanAttributes['tracelock.intent'] COMMENT 'tracelock.intent: What the user wants.',
    MODIFY COLUMN `Feature` LowCardinality(String) MATERIALIZED SpanAttributes['tracelock.feature'] COMMENT 'tracelock.feature: Product feature that made the call.',
    MODIFY COLUMN `Language` LowCardinality(String) MATERIALIZED SpanAttributes['tracelock.language'] COMMENT 'tracelock.language: Natural language of the request, a BCP 47 tag (not telemetry.sdk.language).',
    MODIFY COLUMN `CustomerTier` LowCardinality(String) MATERIALIZED SpanAttributes['tracelock.customer.tier'] COMMENT 'tracelock.customer.tier: Customer segment.',
    MODIFY COLUMN `OutputFormat` LowCardinality(String) MATERIALIZED SpanAttributes['gen_ai.output.type'] COMMENT 'gen_ai.output.type: Requested output modality.',
    MODIFY COLUMN `InputTokens` UInt64 MATERIALIZED toUInt64OrZero(SpanAttributes['gen_ai.usage.input_tokens']) COMMENT 'gen_ai.usage.input_tokens: Prompt tokens, cached included.',
    MODIFY COLUMN `OutputTokens` UInt64 MATERIALIZED toUInt64OrZero(SpanAttributes['gen_ai.usage.output_tokens']) COMMENT 'gen_ai.usage.output_tokens: Completion tokens.',
    MODIFY COLUMN `CostUsd` Float64 MATERIALIZED toFloat64OrZero(SpanAttributes['tracelock.cost.usd']) COMMENT 'tracelock.cost.usd: Cost of the call in USD (tokens x price table when the app does not set it).',
    MODIFY COLUMN `SessionId` String MATERIALIZED SpanAttributes['session.id'] COMMENT 'session.id: Session (conversation) the request belongs to (OTel session.id; OpenInference and Langfuse use it).',
    MODIFY COLUMN `UserId` String MATERIALIZED SpanAttributes['user.id'] COMMENT 'user.id: End user who made the request (OTel user.id).';
