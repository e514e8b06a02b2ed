"""Prompt and eval as one unit: has the prompt a lock file guards changed since its locks last held?

A lock file may name its prompt template (``prompt: {path, hash}``, written by ``lock add --prompt``).
At ``lock check`` the file is hashed again (:func:`tracelock.processors.prompt_hash`; the path is read
relative to the current directory, where CI runs, else to the lock directory's parent) and compared with
the hash of the newest gate run in which every case of the dataset held (``lock_results.PromptHash``),
or, with no such run recorded, with the hash the lock file holds. The answer is one of:

- ``unchanged``: the prompt is the one the locks last passed with;
- ``changed``: it is not (the gate's verdict then says whether the new prompt still holds the locks);
- ``missing``: the file is not there to hash.

It is information, never a failure by itself; each ``lock_results`` row records the hash checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracelock.errors import ConfigError
from tracelock.lock.gate import HOLDING
from tracelock.lock.model import LockFile
from tracelock.processors.prompt import prompt_hash
from tracelock.store import Store

__all__ = ["PromptStatus", "prompt_statuses"]

_LAST_PASSING_HASH = """
SELECT PromptHash, max(CheckedAt) AS At
FROM lock_results
WHERE Dataset = {dataset:String} AND PromptHash != ''
GROUP BY CheckRunId, PromptHash
HAVING countIf(Status NOT IN ({holding:Array(String)})) = 0
ORDER BY At DESC
LIMIT 1
"""


@dataclass(frozen=True)
class PromptStatus:
    dataset: str
    path: str
    locked_hash: str  # as the lock file records it
    current_hash: str  # "" when the file is missing
    compared_with: str  # "last passing run" or "lock file"
    reference_hash: str

    @property
    def status(self) -> str:
        if not self.current_hash:
            return "missing"
        return "unchanged" if self.current_hash == self.reference_hash else "changed"

    def message(self) -> str:
        if self.status == "missing":
            return f"prompt {self.path} of dataset {self.dataset} is not there to hash (the locks guard it)"
        if self.status == "unchanged":
            since = f"since the {self.compared_with}"
            return f"prompt {self.path} is unchanged {since} ({_short(self.current_hash)})"
        return (
            f"prompt {self.path} of dataset {self.dataset} changed since the {self.compared_with}: "
            f"{_short(self.reference_hash)} -> {_short(self.current_hash)}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "path": self.path,
            "status": self.status,
            "hash": self.current_hash or None,
            "locked_hash": self.locked_hash,
            "compared_with": self.compared_with,
            "reference_hash": self.reference_hash,
        }


def _short(value: str) -> str:
    return value[:19] + "…" if len(value) > 19 else value


def _current_hash(path: str, locks_dir: Path) -> str:
    for candidate in (Path(path), locks_dir.resolve().parent / path):
        if candidate.is_file():
            try:
                return prompt_hash(candidate)
            except ConfigError:
                return ""
    return ""


def prompt_statuses(files: list[LockFile], locks_dir: Path, store: Store | None) -> list[PromptStatus]:
    """One status per lock file that names a prompt (``store`` None: compare with the lock files only)."""
    out = []
    for lock_file in files:
        if lock_file.prompt is None:
            continue
        reference, basis = lock_file.prompt.hash, "lock file"
        if store is not None:
            rows = store.query(_LAST_PASSING_HASH, {"dataset": lock_file.dataset, "holding": list(HOLDING)})
            found = rows.dicts()
            if found:
                reference, basis = str(found[0]["PromptHash"]), "last passing run"
        out.append(
            PromptStatus(
                dataset=lock_file.dataset,
                path=lock_file.prompt.path,
                locked_hash=lock_file.prompt.hash,
                current_hash=_current_hash(lock_file.prompt.path, locks_dir),
                compared_with=basis,
                reference_hash=reference,
            )
        )
    return out
