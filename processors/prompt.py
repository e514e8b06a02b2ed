"""The content hash of a prompt template file: what ties a prompt to the evals and locks that guard it.

``prompt_hash("prompts/refund.txt")`` is ``sha256:<hex>`` of the file's bytes. A lock file records it
(``prompt: {path, hash}``), ``tracelock.instrument(prompt_file=...)`` stamps it on the Resource as
``tracelock.prompt.hash`` (no per-span cost; on an existing provider it joins the static per-span keys),
``tracelock.labels(prompt_hash=...)`` stamps it per request, and ``lock check`` compares it with the hash
of the lock's last passing run.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from tracelock.errors import ConfigError

__all__ = ["prompt_hash"]

_CHUNK = 1 << 16


def prompt_hash(path: str | Path) -> str:
    """``sha256:<64 hex>`` of the file's bytes; ConfigError naming the path when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with Path(path).open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise ConfigError(f"cannot read prompt file {path}: {exc.strerror or exc}", field="prompt") from None
    return f"sha256:{digest.hexdigest()}"
