-- Eval spans become eval_records rows inside ClickHouse, so every writer of otel_traces (tracelock's
-- collector, the contrib ClickHouse exporter, a replayed export) produces them without Python code.
-- An eval span is the span of one case attempt: stamped tracelock.origin = 'eval', carrying
-- tracelock.eval.case_id and its outcome (tracelock.eval.passed and/or tracelock.eval.score). The SDK
-- (tracelock.evals) writes one per attempt, with the shared keys, task labels, eval keys, the primary
-- score and one gen_ai.evaluation.result event per scorer. Child spans inside the attempt (the task's
-- LLM and tool calls) inherit origin and eval keys from the eval context but carry no outcome, so they
-- do not become rows of their own.
-- Keys and labels are read from the span first, then from the resource (as in otel_traces' columns).
CREATE MATERIALIZED VIEW IF NOT EXISTS eval_records_from_spans_mv
TO eval_records
AS SELECT
    Timestamp,
    SpanAttributes['tracelock.eval.run_id'] AS EvalRunId,
    SpanAttributes['tracelock.eval.case_id'] AS CaseId,
    toUInt16OrZero(SpanAttributes['tracelock.eval.repeat']) AS Repeat,
    if(SpanAttributes['tracelock.dataset.id'] != '', SpanAttributes['tracelock.dataset.id'],
        ResourceAttributes['tracelock.dataset.id']) AS DatasetId,
    if(SpanAttributes['tracelock.dataset.version'] != '', SpanAttributes['tracelock.dataset.version'],
        ResourceAttributes['tracelock.dataset.version']) AS DatasetVersion,
    RequestModel, PromptVersion, RetrieverVersion, GuardrailVersion, ExperimentBucket,
    Intent, Feature, Language, CustomerTier, OutputFormat,
    mapApply((k, v) -> (substring(k, 17), v),
        mapFilter((k, v) -> startsWith(k, 'tracelock.label.'),
            mapUpdate(CAST(ResourceAttributes, 'Map(String, String)'), CAST(SpanAttributes, 'Map(String, String)')))) AS Labels,
    toFloat64OrZero(SpanAttributes['tracelock.eval.score']) AS Score,
    mapFromArrays(
        arrayMap(a -> a['gen_ai.evaluation.name'], arrayFilter((a, n) -> n = 'gen_ai.evaluation.result', `Events.Attributes`, `Events.Name`)),
        arrayMap(a -> toFloat64OrZero(a['gen_ai.evaluation.score.value']), arrayFilter((a, n) -> n = 'gen_ai.evaluation.result', `Events.Attributes`, `Events.Name`))) AS Scores,
    mapFromArrays(
        arrayMap(a -> a['gen_ai.evaluation.name'], arrayFilter((a, n) -> n = 'gen_ai.evaluation.result' AND a['gen_ai.evaluation.score.label'] != '', `Events.Attributes`, `Events.Name`)),
        arrayMap(a -> a['gen_ai.evaluation.score.label'], arrayFilter((a, n) -> n = 'gen_ai.evaluation.result' AND a['gen_ai.evaluation.score.label'] != '', `Events.Attributes`, `Events.Name`))) AS ScoreLabels,
    SpanAttributes['tracelock.eval.passed'] IN ('true', '1') AS Passed,
    if(SpanAttributes['error.type'] != '', SpanAttributes['error.type'],
        if(StatusCode = 'Error', if(StatusMessage != '', StatusMessage, 'error'), '')) AS Error,
    SpanAttributes['tracelock.judge.model'] AS JudgeModel,
    SpanAttributes['tracelock.judge.version'] AS JudgeVersion,
    if(SpanAttributes['gen_ai.input.messages'] != '', SpanAttributes['gen_ai.input.messages'], SpanAttributes['input.value']) AS Input,
    if(SpanAttributes['gen_ai.output.messages'] != '', SpanAttributes['gen_ai.output.messages'], SpanAttributes['output.value']) AS Output,
    SpanAttributes['tracelock.eval.expected'] AS Expected,
    SpanAttributes['tracelock.eval.artifacts_url'] AS ArtifactsUrl,
    TraceId, SpanId,
    SpanAttributes['tracelock.eval.source_trace_id'] AS SourceTraceId,
    SpanAttributes['tracelock.eval.source_span_id'] AS SourceSpanId,
    InputTokens, OutputTokens, ContextTokens, CostUsd, ParseFailure,
    Duration / 1e6 AS LatencyMs,
    'sdk' AS Source
FROM otel_traces
WHERE Origin = 'eval' AND SpanAttributes['tracelock.eval.case_id'] != ''
    AND (mapContains(SpanAttributes, 'tracelock.eval.passed') OR mapContains(SpanAttributes, 'tracelock.eval.score'));

-- gen_ai.evaluation.result events sent by other tools (online evaluators, LLM-as-judge services) on
-- production spans (origin live): one eval_records row per evaluated span, every event a named score.
-- The run is 'otel:<service>'; the case is the evaluated span's id. Events inside tracelock eval runs
-- are already folded into their eval span's row by the view above. Score is the mean of the events' values;
-- Passed is 1 when every event passed (label pass/passed/true/correct/yes, or a value >= 0.5 when the
-- event has no label).
CREATE MATERIALIZED VIEW IF NOT EXISTS eval_records_from_events_mv
TO eval_records
AS WITH arrayFilter((a, n) -> n = 'gen_ai.evaluation.result', `Events.Attributes`, `Events.Name`) AS evaluations
SELECT
    Timestamp,
    concat('otel:', toString(ServiceName)) AS EvalRunId,
    SpanId AS CaseId,
    toUInt16(0) AS Repeat,
    if(SpanAttributes['tracelock.dataset.id'] != '', SpanAttributes['tracelock.dataset.id'],
        ResourceAttributes['tracelock.dataset.id']) AS DatasetId,
    if(SpanAttributes['tracelock.dataset.version'] != '', SpanAttributes['tracelock.dataset.version'],
        ResourceAttributes['tracelock.dataset.version']) AS DatasetVersion,
    RequestModel, PromptVersion, RetrieverVersion, GuardrailVersion, ExperimentBucket,
    Intent, Feature, Language, CustomerTier, OutputFormat,
    mapApply((k, v) -> (substring(k, 17), v),
        mapFilter((k, v) -> startsWith(k, 'tracelock.label.'),
            mapUpdate(CAST(ResourceAttributes, 'Map(String, String)'), CAST(SpanAttributes, 'Map(String, String)')))) AS Labels,
    arrayAvg(arrayMap(a -> toFloat64OrZero(a['gen_ai.evaluation.score.value']), evaluations)) AS Score,
    mapFromArrays(arrayMap(a -> a['gen_ai.evaluation.name'], evaluations),
        arrayMap(a -> toFloat64OrZero(a['gen_ai.evaluation.score.value']), evaluations)) AS Scores,
    mapFromArrays(arrayMap(a -> a['gen_ai.evaluation.name'], arrayFilter(a -> a['gen_ai.evaluation.score.label'] != '', evaluations)),
        arrayMap(a -> a['gen_ai.evaluation.score.label'], arrayFilter(a -> a['gen_ai.evaluation.score.label'] != '', evaluations))) AS ScoreLabels,
    arrayAll(a -> if(a['gen_ai.evaluation.score.label'] != '',
        lower(a['gen_ai.evaluation.score.label']) IN ('pass', 'passed', 'true', 'correct', 'yes'),
        toFloat64OrZero(a['gen_ai.evaluation.score.value']) >= 0.5), evaluations) AS Passed,
    '' AS Error,
    SpanAttributes['tracelock.judge.model'] AS JudgeModel,
    SpanAttributes['tracelock.judge.version'] AS JudgeVersion,
    if(SpanAttributes['gen_ai.input.messages'] != '', SpanAttributes['gen_ai.input.messages'], SpanAttributes['input.value']) AS Input,
    if(SpanAttributes['gen_ai.output.messages'] != '', SpanAttributes['gen_ai.output.messages'], SpanAttributes['output.value']) AS Output,
    '' AS Expected,
    '' AS ArtifactsUrl,
    TraceId, SpanId,
    '' AS SourceTraceId,
    '' AS SourceSpanId,
    InputTokens, OutputTokens, ContextTokens, CostUsd, ParseFailure,
    Duration / 1e6 AS LatencyMs,
    'otlp-event' AS Source
FROM otel_traces
WHERE has(`Events.Name`, 'gen_ai.evaluation.result') AND Origin != 'eval';
