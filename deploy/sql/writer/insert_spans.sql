-- OTLP ExportTraceServiceRequest bytes (format Protobuf, a row per request; otlp_trace.proto) -> otel_traces rows.
-- ClickHouse parses the protobuf, flattens resource -> scope -> span, turns AnyValues into strings,
-- adds a canonical copy of every attribute alias (the source attribute stays), truncates long values (naming
-- them in tracelock.truncated) and stamps tracelock.origin; the collector only hands over bytes.
-- A span with tokens and no cost is priced from the bound price table ({priced_span_map}).
-- The SELECT of the writer's INSERT (chDB) or of its landing table's materialized view (a server); each
-- column is named as otel_traces names it. The placeholders {source} {span_texts} {resource_texts}
-- {span_pairs} {resource_pairs} {priced_span_map} {value_kv} are replaced by spans_sql.py with fixed
-- expressions (never with data); values travel as bound query parameters.
-- Layers, innermost first: the resource's attributes as text, pairs and map (once per resource), then per
-- span: flatten, attribute values as text (once), attribute pairs (as sent, then canonical copies by
-- rank), keep the first pair per key, build rows.
SELECT
    fromUnixTimestamp64Nano(toInt64(sp.start_time_unix_nano)) AS Timestamp,
    lower(hex(sp.trace_id)) AS TraceId,
    lower(hex(sp.span_id)) AS SpanId,
    lower(hex(sp.parent_span_id)) AS ParentSpanId,
    sp.trace_state AS TraceState,
    sp.name AS SpanName,
    transform(sp.kind, [0, 1, 2, 3, 4, 5], ['Unspecified', 'Internal', 'Server', 'Client', 'Producer', 'Consumer'], 'Unspecified') AS SpanKind,
    r_map['service.name'] AS ServiceName,
    r_map AS ResourceAttributes,
    scope.name AS ScopeName,
    scope.version AS ScopeVersion,
    if(mapContains(s_map, 'tracelock.origin') OR NOT {stamp_origin:Bool}, s_map,
       mapUpdate(s_map, map('tracelock.origin',
           if(mapContains(r_map, 'tracelock.origin'), r_map['tracelock.origin'],
              if(arrayExists(k -> startsWith(k, 'tracelock.eval.'), mapKeys(s_map)), 'eval', 'live'))))) AS SpanAttributes,
    if(sp.end_time_unix_nano > sp.start_time_unix_nano, sp.end_time_unix_nano - sp.start_time_unix_nano, 0) AS Duration,
    transform(sp.status.code, [0, 1, 2], ['Unset', 'Ok', 'Error'], 'Unset') AS StatusCode,
    sp.status.message AS StatusMessage,
    arrayMap(e -> fromUnixTimestamp64Nano(toInt64(e.time_unix_nano)), sp.events) AS `Events.Timestamp`,
    arrayMap(e -> e.name, sp.events) AS `Events.Name`,
    arrayMap(e -> mapFromArrays(arrayMap(kv -> kv.key, e.attributes), arrayMap(kv -> {value_kv}, e.attributes)), sp.events) AS `Events.Attributes`,
    arrayMap(l -> lower(hex(l.trace_id)), sp.links) AS `Links.TraceId`,
    arrayMap(l -> lower(hex(l.span_id)), sp.links) AS `Links.SpanId`,
    arrayMap(l -> l.trace_state, sp.links) AS `Links.TraceState`,
    arrayMap(l -> mapFromArrays(arrayMap(kv -> kv.key, l.attributes), arrayMap(kv -> {value_kv}, l.attributes)), sp.links) AS `Links.Attributes`
FROM
(
    SELECT
        sp, scope, r_map,
        CAST(mapFromArrays(arrayMap(p -> p.1, s_kept), arrayMap(p -> p.2, s_kept)), 'Map(String, String)') AS s_base,
        {priced_span_map} AS s_map
    FROM
    (
        SELECT
            sp, scope, r_map,
            arrayFilter((p, u) -> u = 1, s_pairs, arrayEnumerateUniq(arrayMap(q -> q.1, s_pairs))) AS s_kept
        FROM
        (
            SELECT sp, scope, r_map, {span_pairs} AS s_pairs
            FROM
            (
                SELECT sp, scope, r_map, {span_texts} AS s_texts
                FROM
                (
                    SELECT r_map, ss.scope AS scope, sp
                    FROM
                    (
                        -- the resource's map is built once per resource, before its spans are joined
                        SELECT
                            CAST(mapFromArrays(arrayMap(p -> p.1, r_kept), arrayMap(p -> p.2, r_kept)), 'Map(String, String)') AS r_map,
                            scope_spans
                        FROM
                        (
                            SELECT
                                arrayFilter((p, u) -> u = 1, r_pairs, arrayEnumerateUniq(arrayMap(q -> q.1, r_pairs))) AS r_kept,
                                scope_spans
                            FROM
                            (
                                SELECT {resource_pairs} AS r_pairs, scope_spans
                                FROM
                                (
                                    SELECT {resource_texts} AS r_texts, rs.scope_spans AS scope_spans
                                    FROM {source}
                                    ARRAY JOIN resource_spans AS rs
                                )
                            )
                        )
                    )
                    ARRAY JOIN scope_spans AS ss
                    ARRAY JOIN ss.spans AS sp
                )
            )
        )
    )
)
