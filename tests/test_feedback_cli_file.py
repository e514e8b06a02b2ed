"""``feedback add --file``: a file that is missing, a directory or not text is one clear line naming it,
never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("case", "code", "says"),
    [("missing", 2, "does not exist"), ("directory", 2, "is a directory"), ("binary", 1, "not UTF-8")],
)
def test_a_bad_file_is_one_line_naming_it(tmp_path: Path, case: str, code: int, says: str) -> None:
    path = tmp_path / f"{case}.jsonl"
    if case == "directory":
        path.mkdir()
    elif case == "binary":
        path.write_bytes(b'\xff\xfe{"trace_id": 1}')
    command = ["feedback", "add", "--file", str(path)]
    done = subprocess.run(
        [sys.executable, "-m", "tracelock", "--data-dir", str(tmp_path / "data"), *command],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    assert says in done.stderr and path.name in done.stderr
