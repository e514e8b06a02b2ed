"""The store side of locks: the ``locks`` mirror, ``lock_results`` rows, baselines read back from them.

The YAML files stay the source of truth; the tables exist so the coverage report counts locks, any lock
leads back to its source trace, and gate outcomes form a trend over releases.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tracelock.lock.gate import HOLDING, Baseline, BaselineEntry, GateReport
from tracelock.lock.model import LockCase, LockFile
from tracelock.semconv.columns import columns_of
from tracelock.store import Store

__all__ = [
    "find_locked_case",
    "latest_passing_baseline",
    "mirror_locks",
    "new_check_run_id",
    "record_results",
]

_KEY_COLUMNS = columns_of(("gen_ai.request.model", "gen_ai.prompt.version", "tracelock.retriever.version"))
_LABEL_COLUMNS = columns_of(
    ("tracelock.intent", "tracelock.feature", "tracelock.language", "tracelock.customer.tier")
)


def new_check_run_id() -> str:
    return uuid.uuid4().hex


def _relative(path: Path, base: Path | None) -> str:
    try:
        return str(path.resolve().relative_to((base or Path.cwd()).resolve()))
    except ValueError:
        return str(path)


def _created_at(case: LockCase, now: datetime) -> datetime:
    text = case.provenance.created_at
    if text:
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    return now


def mirror_locks(store: Store, files: list[LockFile], *, base: Path | None = None) -> int:
    """Upsert every case of ``files`` into ``locks`` (ReplacingMergeTree: the newest row wins)."""
    now = datetime.now(timezone.utc)
    rows = []
    for lock_file in files:
        for case in lock_file.cases:
            p = case.provenance
            row = {
                "CaseId": case.id,
                "Dataset": lock_file.dataset,
                "DatasetVersion": str(case.added_in),
                "LockFile": _relative(lock_file.path, base),
                "SourceTraceId": p.source_trace_id,
                "SourceSpanId": p.source_span_id,
                "SeedId": p.seed_id,
                "SeedRule": p.seed_rule,
                "FeedbackIds": list(p.feedback_ids),
                "Labels": {k: v for k, v in case.labels.items() if k not in _LABEL_COLUMNS},
                "Assertions": json.dumps([a.to_dict() for a in case.expect], ensure_ascii=False),
                "CreatedAt": _created_at(case, now),
                "CreatedBy": p.created_by,
                "UpdatedAt": now,
            }
            row |= {column: case.keys.get(key, "") for key, column in _KEY_COLUMNS.items()}
            row |= {column: case.labels.get(label, "") for label, column in _LABEL_COLUMNS.items()}
            rows.append(row)
    if not rows:
        return 0
    return store.insert("locks", {name: [r[name] for r in rows] for name in rows[0]})


def record_results(store: Store, report: GateReport, *, check_run_id: str, release_tag: str) -> int:
    """One ``lock_results`` row per case of this gate run."""
    now = datetime.now(timezone.utc)
    rows = report.outcomes
    if not rows:
        return 0
    prompts = {p.dataset: p for p in report.prompts}
    none = ("", "")
    prompt_of = [
        (prompts[o.case.dataset].path, prompts[o.case.dataset].current_hash)
        if o.case.dataset in prompts
        else none
        for o in rows
    ]
    return store.insert(
        "lock_results",
        {
            "CheckRunId": [check_run_id] * len(rows),
            "CheckedAt": [now] * len(rows),
            "Dataset": [o.case.dataset for o in rows],
            "DatasetVersion": [str(o.dataset_version) for o in rows],
            "CaseId": [o.case.id for o in rows],
            "Status": [o.status for o in rows],
            "Passes": [o.passes for o in rows],
            "Attempts": [o.attempts for o in rows],
            "Required": [o.case.required_fraction for o in rows],
            "ReleaseTag": [release_tag] * len(rows),
            "EvalRunId": [",".join(o.run_ids) for o in rows],
            "SourceTraceId": [o.case.provenance.source_trace_id for o in rows],
            "Details": [json.dumps(o.failures, ensure_ascii=False) for o in rows],
            "PromptPath": [path for path, _ in prompt_of],
            "PromptHash": [digest for _, digest in prompt_of],
        },
    )


_LATEST_PASSING = """
SELECT CheckRunId, max(CheckedAt) AS At
FROM lock_results
WHERE ReleaseTag = {tag:String}
GROUP BY CheckRunId
HAVING countIf(Status NOT IN ({holding:Array(String)})) = 0
ORDER BY At DESC
LIMIT 1
"""

_RUN_ROWS = (
    "SELECT Dataset, CaseId, Status, Passes, Attempts FROM lock_results WHERE CheckRunId = {run:String}"
)


def latest_passing_baseline(store: Store, release_tag: str) -> Baseline | None:
    """Per-case outcomes of the newest gate run for ``release_tag`` in which every lock held."""
    found = store.query(_LATEST_PASSING, {"tag": release_tag, "holding": list(HOLDING)}).dicts()
    if not found:
        return None
    run_id = found[0]["CheckRunId"]
    entries = {
        (r["Dataset"], r["CaseId"]): BaselineEntry(r["Status"], int(r["Passes"]), int(r["Attempts"]))
        for r in store.query(_RUN_ROWS, {"run": run_id}).dicts()
    }
    return Baseline(label=f"{release_tag} (check {run_id[:8]})", entries=entries)


def baseline_from_report(report: GateReport, label: str) -> Baseline:
    """A baseline from a gate run computed in-process (``--baseline-results FILE``)."""
    return Baseline(
        label=label,
        entries={o.key: BaselineEntry(o.status, o.passes, o.attempts) for o in report.outcomes},
    )


_FIND_CASE = """
SELECT Dataset, CaseId, DatasetVersion, LockFile, SourceTraceId, SourceSpanId, SeedId, SeedRule, FeedbackIds,
       Assertions, CreatedAt, CreatedBy
FROM locks FINAL
WHERE CaseId = {case_id:String}
ORDER BY Dataset
"""


def find_locked_case(store: Store, case_id: str) -> list[dict[str, Any]]:
    """The ``locks`` rows of a case id (one per dataset holding it)."""
    return store.query(_FIND_CASE, {"case_id": case_id}).dicts()
