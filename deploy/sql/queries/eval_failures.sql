-- Failure types of eval attempts per slice and arm, and each scorer's pass count: what the offline side
-- of "json_parse_fail rose on agent-v6" is matched against. kind = 'failure' rows count attempts per
-- failure class: 'exception:<type>' (the task or a scorer raised; the type is the exception class at the
-- head of Error, as run_eval writes it: "task: ValueError: ..."), 'parse_failure' (ParseFailure = 1)
-- and 'assertion:<scorer>' (that scorer failed: its label says fail, or without a pass/fail label its
-- value is below 0.5). kind = 'scorer' rows count attempts and passes per scorer.
-- Placeholders: $slice, $arm, $filter over eval_records (as in divergence_offline.sql).
WITH graded AS
(
    SELECT
        $slice AS slice,
        $arm AS arm,
        Error,
        ParseFailure,
        arrayMap(n -> (n, if(lower(ScoreLabels[n]) IN ('pass', 'passed', 'true', 'correct', 'yes'), 1,
            if(lower(ScoreLabels[n]) IN ('fail', 'failed', 'false', 'incorrect', 'no'), 0,
                toUInt8(Scores[n] >= 0.5)))), mapKeys(Scores)) AS verdicts
    FROM eval_records FINAL
    WHERE $filter
)
SELECT slice, arm, 'failure' AS kind, name, count() AS attempts, toUInt64(0) AS passes
FROM graded
ARRAY JOIN arrayConcat(
    if(Error != '', [concat('exception:', if(
        extract(Error, '^(?:task: |scorer [^:]*: )?([A-Za-z_][A-Za-z0-9_.]*)') != '',
        extract(Error, '^(?:task: |scorer [^:]*: )?([A-Za-z_][A-Za-z0-9_.]*)'), 'error'))], []),
    if(ParseFailure = 1, ['parse_failure'], []),
    arrayMap(v -> concat('assertion:', v.1), arrayFilter(v -> v.2 = 0, verdicts))) AS name
WHERE arm != ''
GROUP BY slice, arm, name
UNION ALL
SELECT slice, arm, 'scorer' AS kind, v.1 AS name, count() AS attempts, sum(v.2) AS passes
FROM graded
ARRAY JOIN verdicts AS v
WHERE arm != ''
GROUP BY slice, arm, name
ORDER BY kind, slice, arm, name
