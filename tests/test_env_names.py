"""Every ``TRACELOCK_*`` variable the package reads is named in ``tracelock.env``, never as a literal
elsewhere: the module is the one list of what can be set (docs, ``--help`` and the code agree)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tracelock import env

PACKAGE = Path(env.__file__).resolve().parent
NAME = re.compile(r"^TRACELOCK_[A-Z0-9_]+$")
SKIPPED = {"tests", "bench", "docs", "deploy", ".venv", "venv"}


def _literals() -> list[tuple[str, int, str]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in SKIPPED or relative == Path("env.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and NAME.match(node.value):
                found.append((str(relative), node.lineno, node.value))
    return found


def test_no_environment_variable_is_named_outside_the_env_module() -> None:
    assert [f"{path}:{line}: {name}" for path, line, name in _literals()] == []


def test_the_env_module_names_each_variable_once() -> None:
    values = [v for k, v in vars(env).items() if k.isupper() and isinstance(v, str)]
    assert len(values) == len(set(values))
