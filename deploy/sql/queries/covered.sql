-- Whether a trace (its TraceId) is covered: an eval record or a lock names it as its source trace.
-- Embedded by live_totals.sql; the rollup (0080_trace_rollup.sql) counts CoveredBadTraces the same way.
(TraceId IN (SELECT SourceTraceId FROM eval_records WHERE SourceTraceId != '')
    OR TraceId IN (SELECT SourceTraceId FROM locks WHERE SourceTraceId != ''))
