"""Lock files: schema, validation messages (file, line, case, field), atomic comment-keeping writes."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest

from tracelock.errors import LockFileError
from tracelock.lock.files import (
    SCHEMA_COMMENT,
    add_case,
    discover_lock_files,
    load_lock_dir,
    load_lock_file,
    lock_schema,
    validate_lock_dir,
)
from tracelock.lock.model import Assertion, LockCase, Provenance

GOOD = """\
# yaml-language-server: $schema=lock.schema.json
# Refund bot locks. Keep this comment.
dataset: refund
version: 2
cases:
  # the first bug we ever locked
  - id: enterprise-long-contract
    added_in: 1
    input: "Refund my enterprise contract"   # inline comment
    expect:
      - type: contains
        value: refund
      - type: ceiling
        metric: cost_usd
        max: 0.05
    provenance:
      source_trace_id: 0123456789abcdef0123456789abcdef
  - id: consumer-short
    added_in: 2
    input: {question: "refund?"}
    expect:
      - type: score
        scorer: faithfulness
        min: 0.8
    repeats: 10
    min_passes: 8
"""


def write(tmp_path: Path, text: str, name: str = "refund.yaml") -> Path:
    locks = tmp_path / "locks"
    locks.mkdir(exist_ok=True)
    path = locks / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def new_case(case_id: str, trace: str = "ab" * 16) -> LockCase:
    return LockCase(
        id=case_id,
        dataset="refund",
        added_in=1,
        input=[{"role": "user", "parts": [{"type": "text", "content": "hi"}]}],
        expect=(Assertion("contains", {"value": "refund"}),),
        provenance=Provenance(source_trace_id=trace, feedback_ids=("fb-1",)),
    )


def test_shipped_schema_is_valid_and_accepts_the_example(tmp_path: Path) -> None:
    jsonschema.Draft202012Validator.check_schema(lock_schema())
    lock_file = load_lock_file(write(tmp_path, GOOD))
    assert lock_file.dataset == "refund"
    assert lock_file.version == 2
    first, second = lock_file.cases
    assert (first.id, first.line, first.provenance.source_trace_id) == (
        "enterprise-long-contract",
        7,
        "0123456789abcdef0123456789abcdef",
    )
    assert second.required_passes(10) == 8
    assert second.required_passes(5) == 4
    assert [a.describe() for a in first.expect] == ["contains 'refund'", "cost_usd <= 0.05"]


def test_old_versions_stay_reproducible(tmp_path: Path) -> None:
    lock_file = load_lock_file(write(tmp_path, GOOD))
    assert [c.id for c in lock_file.cases_at(1)] == ["enterprise-long-contract"]
    assert [c.id for c in lock_file.cases_at(2)] == ["enterprise-long-contract", "consumer-short"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "dataset: refund\nversion: 1\ncases: [\n  - id: a\n",
            "locks/refund.yaml:4: YAML syntax error",
        ),
        (
            GOOD.replace("id: consumer-short", "id: enterprise-long-contract"),
            "locks/refund.yaml:18: case 'enterprise-long-contract': cases[1].id: duplicate case id "
            "(first defined at line 7)",
        ),
        (
            GOOD.replace("type: score", "type: scroe"),
            "locks/refund.yaml:22: case 'consumer-short': cases[1].expect[0].type: "
            "unknown assertion type 'scroe'",
        ),
        (
            GOOD.replace("version: 2\n", ""),
            "locks/refund.yaml: missing dataset version: add `version: 1`",
        ),
        (
            GOOD.replace("dataset: refund", "dataset: refunds"),
            "locks/refund.yaml:3: dataset: dataset 'refunds' does not match the file name "
            "(expected refund.yaml)",
        ),
        (
            GOOD.replace("added_in: 2", "added_in: 3"),
            "locks/refund.yaml:18: case 'consumer-short': cases[1].added_in: "
            "added_in 3 is newer than the dataset",
        ),
        (
            GOOD.replace("min_passes: 8", "min_passes: 11"),
            "case 'consumer-short': cases[1].min_passes: min_passes 11 exceeds repeats 10",
        ),
        (
            GOOD.replace(
                "      - type: score\n        scorer: faithfulness\n        min: 0.8",
                "      - type: regex\n        pattern: '(unclosed'",
            ),
            "case 'consumer-short': cases[1].expect[0].pattern: invalid regex",
        ),
        (
            GOOD.replace("        scorer: faithfulness\n", ""),
            "case 'consumer-short': cases[1].expect[0]: 'scorer' is a required property",
        ),
        (
            GOOD.replace("    repeats: 10", "    repeat: 10"),
            "cases[1]: Additional properties are not allowed ('repeat' was unexpected)",
        ),
    ],
    ids=[
        "syntax",
        "duplicate-id",
        "unknown-assertion",
        "missing-version",
        "name-mismatch",
        "added-after-version",
        "min-passes",
        "bad-regex",
        "missing-field",
        "typo-field",
    ],
)
def test_bad_lock_files_name_file_line_case_and_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, text)
    with pytest.raises(LockFileError) as excinfo:
        load_lock_file(path)
    assert message in str(excinfo.value)
    assert excinfo.value.path == "locks/refund.yaml"


def test_validate_reports_every_problem_of_every_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, GOOD.replace("type: score", "type: nope").replace("type: contains", "type: contain"))
    write(tmp_path, "dataset: other\ncases: []\n", name="other.yaml")
    files, problems = validate_lock_dir(discover_lock_files(tmp_path / "locks"))
    assert files == []
    texts = [str(p) for p in problems]
    assert len(texts) == 3
    assert any("other.yaml" in t and "missing dataset version" in t for t in texts)
    assert sum("unknown assertion type" in t for t in texts) == 2


def test_add_case_creates_file_with_schema_line_and_copy(tmp_path: Path) -> None:
    locks = tmp_path / "locks"
    lock_file = add_case(locks, "refund", new_case("c1"))
    text = (locks / "refund.yaml").read_text()
    assert text.startswith(SCHEMA_COMMENT + "\n")
    assert json.loads((locks / "lock.schema.json").read_text()) == lock_schema()
    assert lock_file.version == 1
    assert lock_file.cases[0].added_in == 1


def test_add_case_keeps_comments_order_and_bumps_version(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    before = path.read_text()
    lock_file = add_case(path.parent, "refund", new_case("c3"))
    after = path.read_text()
    assert lock_file.version == 3
    assert [c.id for c in lock_file.cases] == ["enterprise-long-contract", "consumer-short", "c3"]
    assert lock_file.case("c3").added_in == 3
    # Everything before the version line and all existing cases are byte-for-byte kept.
    assert after.replace("version: 3", "version: 2").startswith(before)
    assert [c.id for c in lock_file.cases_at(2)] == ["enterprise-long-contract", "consumer-short"]
    assert not list(path.parent.glob(".refund.yaml.*"))  # no temporary file left behind


def test_add_case_refuses_duplicates_and_invalid_files_without_writing(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    before = path.read_text()
    with pytest.raises(LockFileError, match="a case with this id already exists"):
        add_case(path.parent, "refund", new_case("consumer-short"))
    with pytest.raises(LockFileError, match="is already locked as case 'enterprise-long-contract'"):
        add_case(path.parent, "refund", new_case("again", trace="0123456789abcdef0123456789abcdef"))
    assert path.read_text() == before
    path.write_text(GOOD.replace("type: score", "type: bogus"))
    broken = path.read_text()
    with pytest.raises(LockFileError, match="unknown assertion type"):
        add_case(path.parent, "refund", new_case("c9"))
    assert path.read_text() == broken


def test_two_files_for_one_dataset_are_refused(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    write(tmp_path, GOOD, name="refund.yml")
    with pytest.raises(LockFileError):
        load_lock_dir(tmp_path / "locks")


def test_add_case_validates_before_writing_anything(tmp_path: Path) -> None:
    locks = tmp_path / "locks"
    with pytest.raises(LockFileError, match="invalid dataset name"):
        add_case(locks, "../escape", new_case("c1"))
    bad_id = new_case("has spaces")
    with pytest.raises(LockFileError, match=r"cases\[0\].id: 'has spaces' does not match"):
        add_case(locks, "refund", bad_id)
    assert not (tmp_path / "escape.yaml").exists()
    assert not locks.exists() or not any(locks.iterdir())
