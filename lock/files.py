"""Reading, validating and writing lock files (``locks/<dataset>.yaml``).

Lock files are reviewed like code, so they are read with ruamel.yaml's round-trip loader: errors point at
the line, and ``lock add`` writes the file back with its comments, key order and existing cases untouched.
Validation is the JSON Schema shipped in ``deploy/schemas/lock.schema.json`` (the same one editors use
through the ``$schema`` line) plus the checks a schema cannot express: unique case ids, the file name
matching the dataset, versions that make sense, regexes and JSON Schemas that compile.
A file is rewritten only by :func:`add_case`, and only atomically (temporary file + rename).
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from tracelock.errors import LockFileError
from tracelock.lock.model import Assertion, LockCase, LockFile, PromptRef, Provenance

__all__ = [
    "SCHEMA_COMMENT",
    "SCHEMA_FILE_NAME",
    "add_case",
    "discover_lock_files",
    "load_lock_dir",
    "load_lock_file",
    "lock_schema",
    "lock_schema_path",
    "validate_lock_dir",
]

SCHEMA_FILE_NAME = "lock.schema.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")  # as $defs.name in the schema
SCHEMA_COMMENT = f"# yaml-language-server: $schema={SCHEMA_FILE_NAME}"


def lock_schema_path() -> Path:
    """The JSON Schema of lock files, shipped inside the package."""
    return Path(__file__).resolve().parent.parent / "deploy" / "schemas" / SCHEMA_FILE_NAME


@functools.lru_cache(maxsize=1)
def lock_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(lock_schema_path().read_text(encoding="utf-8"))
    return schema


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _path_text(path: list[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(data: Any, path: list[Any]) -> int | None:
    """1-based line of the node at ``path`` in a round-trip-loaded document (the deepest one known)."""
    line = None
    node = data
    for part in path:
        lc = getattr(node, "lc", None)
        try:
            if isinstance(node, CommentedMap) and part in node:
                line = lc.key(part)[0] + 1 if lc else line
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
                line = lc.item(part)[0] + 1 if lc else line
            else:
                break
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
    return line


def _case_id_at(data: Any, path: list[Any]) -> str | None:
    if len(path) >= 2 and path[0] == "cases" and isinstance(path[1], int):
        try:
            case = data["cases"][path[1]]
            return (
                str(case.get("id"))
                if isinstance(case, dict) and case.get("id") is not None
                else f"#{path[1]}"
            )
        except (KeyError, IndexError, TypeError):
            return None
    return None


def _schema_errors(display: str, data: Any) -> list[LockFileError]:
    validator = jsonschema.Draft202012Validator(lock_schema())
    errors = []
    for err in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        path = list(err.absolute_path)
        message = err.message
        if err.validator == "enum" and path and path[-1] == "type":
            message = f"unknown assertion type {err.instance!r} (known: {', '.join(err.validator_value)})"
        if err.validator == "required" and not path and "version" in message:
            message = "missing dataset version: add `version: 1` (an integer) at the top of the file"
        errors.append(
            LockFileError(
                display,
                message,
                line=_line_of(data, path),
                case=_case_id_at(data, path),
                field=_path_text(path) or None,
            )
        )
    return errors


def _semantic_errors(path: Path, display: str, data: dict[str, Any]) -> list[LockFileError]:
    errors: list[LockFileError] = []
    if path.stem != data["dataset"]:
        errors.append(
            LockFileError(
                display,
                f"dataset {data['dataset']!r} does not match the file name (expected {path.stem}.yaml)",
                line=_line_of(data, ["dataset"]),
                field="dataset",
            )
        )
    seen: dict[str, int] = {}
    for i, case in enumerate(data["cases"]):
        case_id = str(case["id"])
        here = functools.partial(LockFileError, display, line=_line_of(data, ["cases", i]), case=case_id)
        if case_id in seen:
            errors.append(
                here(f"duplicate case id (first defined at line {seen[case_id]})", field=f"cases[{i}].id")
            )
        seen.setdefault(case_id, _line_of(data, ["cases", i]) or 0)
        if case["added_in"] > data["version"]:
            errors.append(
                here(
                    f"added_in {case['added_in']} is newer than the dataset version {data['version']}",
                    field=f"cases[{i}].added_in",
                )
            )
        if "removed_in" in case and case["removed_in"] <= case["added_in"]:
            errors.append(here("removed_in must be after added_in", field=f"cases[{i}].removed_in"))
        repeats = case.get("repeats", 1)
        if case.get("min_passes", 0) > repeats:
            errors.append(
                here(
                    f"min_passes {case['min_passes']} exceeds repeats {repeats}",
                    field=f"cases[{i}].min_passes",
                )
            )
        for j, assertion in enumerate(case["expect"]):
            where = f"cases[{i}].expect[{j}]"
            if assertion["type"] == "regex":
                try:
                    re.compile(assertion["pattern"])
                except re.error as exc:
                    errors.append(here(f"invalid regex: {exc}", field=f"{where}.pattern"))
            elif assertion["type"] == "json_schema":
                try:
                    jsonschema.validators.validator_for(assertion["schema"]).check_schema(assertion["schema"])
                except jsonschema.SchemaError as exc:
                    errors.append(here(f"invalid JSON Schema: {exc.message}", field=f"{where}.schema"))
    return errors


def _plain(value: Any) -> Any:
    """Round-trip containers -> plain dict/list (what the rest of tracelock handles)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def _build(path: Path, data: dict[str, Any]) -> LockFile:
    cases = []
    for i, raw in enumerate(data["cases"]):
        plain = _plain(raw)
        cases.append(
            LockCase(
                id=plain["id"],
                dataset=data["dataset"],
                added_in=plain["added_in"],
                input=plain["input"],
                expect=tuple(
                    Assertion(a["type"], {k: v for k, v in a.items() if k != "type"}) for a in plain["expect"]
                ),
                description=plain.get("description", ""),
                removed_in=plain.get("removed_in"),
                repeats=plain.get("repeats", 1),
                min_passes=plain.get("min_passes"),
                keys=plain.get("keys", {}),
                labels=plain.get("labels", {}),
                provenance=Provenance.from_dict(plain.get("provenance")),
                line=_line_of(data, ["cases", i]),
            )
        )
    prompt = _plain(data.get("prompt"))
    return LockFile(
        path,
        str(data["dataset"]),
        int(data["version"]),
        tuple(cases),
        str(data.get("description", "")),
        PromptRef(prompt["path"], prompt["hash"]) if prompt else None,
    )


def _read(path: Path) -> tuple[str, Any]:
    display = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LockFileError(display, "no such lock file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LockFileError(display, f"cannot read: {exc}") from exc
    try:
        data = _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or str(exc)
        raise LockFileError(display, f"YAML syntax error: {problem}", line=line) from exc
    except YAMLError as exc:
        raise LockFileError(display, f"YAML error: {exc}") from exc
    return display, data


def _check(path: Path) -> tuple[list[LockFileError], Any]:
    display, data = _read(path)
    if not isinstance(data, dict):
        return [LockFileError(display, "a lock file is a mapping with dataset, version and cases")], data
    errors = _schema_errors(display, data)
    if not errors:
        errors = _semantic_errors(path, display, data)
    return errors, data


def load_lock_file(path: Path) -> LockFile:
    """Read and validate one lock file; raise the first LockFileError (see :func:`validate_lock_dir`)."""
    errors, data = _check(path)
    if errors:
        raise errors[0]
    return _build(path, data)


def discover_lock_files(locks_dir: Path) -> list[Path]:
    """The ``*.yaml``/``*.yml`` files directly in ``locks_dir``, sorted."""
    if not locks_dir.is_dir():
        raise LockFileError(_display(locks_dir), "lock directory not found (pass --locks DIR)")
    return sorted(p for p in locks_dir.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def validate_lock_dir(paths: list[Path]) -> tuple[list[LockFile], list[LockFileError]]:
    """Validate every file; return the good ones and *all* problems (not just the first)."""
    files: list[LockFile] = []
    problems: list[LockFileError] = []
    for path in paths:
        try:
            errors, data = _check(path)
        except LockFileError as exc:
            problems.append(exc)
            continue
        if errors:
            problems.extend(errors)
        else:
            files.append(_build(path, data))
    seen: dict[str, Path] = {}
    for lock_file in files:
        if lock_file.dataset in seen:
            problems.append(
                LockFileError(
                    _display(lock_file.path),
                    f"dataset {lock_file.dataset!r} is also defined in {seen[lock_file.dataset]}",
                )
            )
        seen[lock_file.dataset] = lock_file.path
    return files, problems


def load_lock_dir(locks_dir: Path) -> list[LockFile]:
    """All lock files of a directory; raise the first problem found."""
    files, problems = validate_lock_dir(discover_lock_files(locks_dir))
    if problems:
        raise problems[0]
    return files


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def add_case(
    locks_dir: Path, dataset: str, case: LockCase, description: str = "", *, prompt: PromptRef | None = None
) -> LockFile:
    """Append ``case`` to ``locks_dir/<dataset>.yaml`` (created when missing) and bump the dataset version.

    The case's ``added_in`` is set to the new version. Existing content (comments, order, quoting) is kept;
    the write is atomic. Raises LockFileError when the file is invalid or the case id already exists.
    ``prompt`` records (or replaces) the prompt template the file guards.
    """
    if not _NAME.match(dataset):
        raise LockFileError(f"{locks_dir}/{dataset}.yaml", "invalid dataset name", field="dataset")
    locks_dir.mkdir(parents=True, exist_ok=True)
    path = locks_dir / f"{dataset}.yaml"
    yaml = _yaml()
    if path.exists():
        current = load_lock_file(path)  # refuse to touch an invalid file
        if current.case(case.id) is not None:
            raise LockFileError(
                _display(path), "a case with this id already exists", case=case.id, field="id"
            )
        source = (case.provenance.source_trace_id, case.provenance.source_span_id)
        twin = next(
            (
                c
                for c in current.cases
                if source[0] and (c.provenance.source_trace_id, c.provenance.source_span_id) == source
            ),
            None,
        )
        if twin is not None:
            raise LockFileError(
                _display(path), f"trace {source[0]} is already locked as case {twin.id!r}", case=case.id
            )
        _, data = _read(path)
        version = current.version + 1
        data["version"] = version
        header = ""
    else:
        version = 1
        data = CommentedMap()
        data["dataset"] = dataset
        data["version"] = version
        if description:
            data["description"] = description
        data["cases"] = CommentedSeq()
        header = SCHEMA_COMMENT + "\n# Regression locks for dataset '" + dataset + "': reviewed like code.\n"
    if prompt is not None:
        if "prompt" in data:
            data["prompt"] = prompt.to_dict()
        else:
            data.insert(list(data).index("cases"), "prompt", prompt.to_dict())
    entry = case.to_dict()
    entry["added_in"] = version
    if data.get("cases") is None:
        data["cases"] = CommentedSeq()
    data["cases"].append(entry)
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    text = header + buffer.getvalue()
    new_data = _yaml().load(text)  # the file as it will read back: validated before anything is written
    errors = _schema_errors(_display(path), new_data) or _semantic_errors(path, _display(path), new_data)
    if errors:
        raise errors[0]
    schema_copy = locks_dir / SCHEMA_FILE_NAME
    if not schema_copy.exists():
        _atomic_write(schema_copy, lock_schema_path().read_text(encoding="utf-8"))
    _atomic_write(path, text)
    return load_lock_file(path)
