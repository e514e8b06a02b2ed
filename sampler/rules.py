"""The rules file: YAML in, validated and compiled rules out, or one error listing every problem.

    version: 1
    rules:
      - name: empty-retrieval
        description: A retrieval returned no documents.
        level: span            # span | trace | slice
        scope: live            # live | eval | both
        condition: tracelock.retrieval.empty
        sample: 1.0            # fraction of matches kept (deterministic per trace)
        max_per_hour: 200      # seeds per rule per hour of event time

Every problem names the file, the YAML line, the rule and the field. Conditions are compiled here, once;
nothing downstream parses them again. ``rule.version`` is a hash of the rule's definition, recorded on
every seed so a seed leads back to the exact rule text that found it.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tracelock.errors import RulesError
from tracelock.sampler.expressions import CompiledCondition, ConditionError, compile_condition
from tracelock.sampler.variables import Level, Variables

__all__ = [
    "DEFAULT_RULES",
    "CompiledRule",
    "FirstN",
    "Rule",
    "RuleSet",
    "RulesFile",
    "Scope",
    "SliceSpec",
    "load_rules",
    "parse_duration",
]

DEFAULT_RULES = "default.yaml"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


_MAX_DURATION_S = 100 * 365 * 86400


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``24h``, ``7d``, ``2w`` -> timedelta; ValueError otherwise."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"invalid duration {text!r}: use a number and s, m, h, d or w (e.g. 24h)")
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds > _MAX_DURATION_S:
        raise ValueError(f"duration {text!r} is longer than 100 years")
    return timedelta(seconds=seconds)


class Scope(str, enum.Enum):
    """Which traffic a rule looks at: production (live), eval runs (eval), or both."""

    live = "live"
    eval = "eval"
    both = "both"

    def admits(self, origin: str) -> bool:
        return self is Scope.both or origin == self.value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FirstN(_Strict):
    """Keep only the first ``count`` matching traces of each ``by`` group seen at or after ``after``."""

    count: int = Field(ge=1, le=100_000)
    by: tuple[str, ...] = Field(min_length=1)
    after: datetime | None = None

    @field_validator("after")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class SliceSpec(_Strict):
    """An aggregate rule: traces grouped by ``by`` over ``window``; the condition reads ``slice.*``.

    Each slice that matches seeds up to ``per_slice`` of its traces (complaint-linked ones first).
    """

    by: tuple[str, ...] = Field(min_length=1)
    window: str = "24h"
    min_traces: int = Field(default=20, ge=1)
    per_slice: int = Field(default=5, ge=1, le=10_000)

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def window_delta(self) -> timedelta:
        return parse_duration(self.window)


class Rule(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    description: str = ""
    level: Level = Level.span
    scope: Scope = Scope.live
    condition: str = Field(min_length=1)
    sample: float = Field(default=1.0, gt=0.0, le=1.0)
    max_per_hour: int | None = Field(default=None, ge=1)
    first_n: FirstN | None = None
    slice: SliceSpec | None = None
    enabled: bool = True

    @model_validator(mode="after")
    def _level_fields(self) -> Rule:
        if self.level is Level.slice and self.slice is None:
            raise ValueError("a slice rule needs a 'slice' section (by, window, ...)")
        if self.level is not Level.slice and self.slice is not None:
            raise ValueError("'slice' is only for level: slice")
        if self.first_n is not None and self.level is not Level.trace:
            raise ValueError("'first_n' is only for level: trace")
        return self


class RulesFile(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: str | None = Field(default=None, alias="$schema")
    version: Literal[1] = 1
    rules: tuple[Rule, ...] = ()  # validated one by one by load_rules (errors of every rule are reported)


@dataclass(frozen=True)
class CompiledRule:
    """A validated rule with its condition compiled and its version hash."""

    spec: Rule
    condition: CompiledCondition
    version: str
    line: int

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def level(self) -> Level:
        return self.spec.level


@dataclass(frozen=True)
class RuleSet:
    """The enabled rules of one file, by level."""

    source: str
    rules: tuple[CompiledRule, ...]

    def at(self, level: Level) -> list[CompiledRule]:
        return [r for r in self.rules if r.level is level]

    def get(self, name: str) -> CompiledRule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(name)


# --- YAML with line numbers -------------------------------------------------------------------------


class _Located:
    """Plain data from a YAML node tree, with the line of every key and item by path."""

    def __init__(self) -> None:
        self.lines: dict[tuple[Any, ...], int] = {}
        self.duplicates: list[tuple[tuple[Any, ...], int]] = []
        self._constructor = yaml.constructor.SafeConstructor()

    def build(self, node: yaml.Node, path: tuple[Any, ...] = ()) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    line = key_node.start_mark.line + 1
                    raise yaml.YAMLError(f"line {line}: a key must be a plain value, not a list or mapping")
                key = self._constructor.construct_object(key_node, deep=True)
                where = (*path, key)
                if key in out:
                    self.duplicates.append((where, key_node.start_mark.line + 1))
                self.lines[where] = key_node.start_mark.line + 1
                out[key] = self.build(value_node, where)
                self.lines[where] = key_node.start_mark.line + 1
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._constructor.construct_object(node, deep=True)

    def line(self, path: tuple[Any, ...]) -> int:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)


def _rule_label(data: Any, index: int) -> str:
    if isinstance(data, dict) and isinstance(data.get("name"), str):
        return f"rule {data['name']!r}"
    return f"rule #{index + 1}"


def _format(source: str, line: int, data: dict[str, Any], loc: tuple[Any, ...], message: str) -> str:
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
        rules = data.get("rules")
        rule = rules[loc[1]] if isinstance(rules, list) and loc[1] < len(rules) else None
        label = _rule_label(rule, loc[1])
        field = ".".join(str(p) for p in loc[2:]) or "(rule)"
        return f"{source}:{line}: {label}: {field}: {message}"
    field = ".".join(str(p) for p in loc) or "(file)"
    return f"{source}:{line}: {field}: {message}"


def _version(rule: Rule) -> str:
    body = json.dumps(rule.model_dump(mode="json", exclude={"description"}), sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()[:12]


def _parse(text: str, source: str) -> tuple[Any, _Located]:
    located = _Located()
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise RulesError(source, [f"{source}:{line}: not valid YAML: {problem}"]) from exc
    if node is None:
        raise RulesError(source, [f"{source}:1: the file is empty (expected 'version: 1' and 'rules:')"])
    try:
        data = located.build(node)
    except yaml.YAMLError as exc:
        raise RulesError(source, [f"{source}:{node.start_mark.line + 1}: not valid YAML: {exc}"]) from exc
    return data, located


def load_rules(
    text: str | None = None,
    *,
    path: str | Path | None = None,
    variables: Variables | None = None,
    include_disabled: bool = False,
) -> RuleSet:
    """Validate and compile a rules file (``path``, or ``text``; the built-in file when neither)."""
    if text is None:
        if path is None:
            source = f"<built-in {DEFAULT_RULES}>"
            text = resources.files("tracelock").joinpath(f"deploy/rules/{DEFAULT_RULES}").read_text("utf-8")
        else:
            source = str(path)
            try:
                text = Path(path).read_text("utf-8")
            except OSError as exc:
                raise RulesError(source, [f"{source}: cannot read: {exc.strerror or exc}"]) from exc
    else:
        source = str(path) if path is not None else "<rules>"
    data, located = _parse(text, source)
    if not isinstance(data, dict):
        raise RulesError(source, [f"{source}:1: expected a mapping with 'version' and 'rules'"])
    problems = [
        _format(source, line, data, key, "duplicate key (the later value would silently win)")
        for key, line in located.duplicates
    ]
    parsed = _validate(data, located, source, problems)
    variables = variables or Variables()
    compiled: list[CompiledRule] = []
    seen: dict[str, int] = {}
    for index, rule in parsed:
        line = located.line(("rules", index))
        if rule.name in seen:
            problems.append(
                f"{source}:{located.line(('rules', index, 'name'))}: rule {rule.name!r}: name: "
                f"duplicate rule name (first defined on line {seen[rule.name]})"
            )
            continue
        seen[rule.name] = line
        problems += _check_keys(rule, variables, source, located, index)
        try:
            keys = rule.slice.by if rule.slice is not None else ()
            condition = compile_condition(rule.condition, variables, rule.level, keys)
        except ConditionError as exc:
            where = located.line(("rules", index, "condition"))
            problems.append(f"{source}:{where}: rule {rule.name!r}: condition: {exc}")
            continue
        if rule.enabled or include_disabled:
            compiled.append(CompiledRule(rule, condition, _version(rule), line))
    if problems:
        raise RulesError(source, problems)
    return RuleSet(source, tuple(compiled))


def _validate(
    data: dict[str, Any], located: _Located, source: str, problems: list[str]
) -> list[tuple[int, Rule]]:
    """The file's envelope, then each rule on its own, so one bad rule does not hide the others."""
    rules_data = data.get("rules")
    envelope = {k: v for k, v in data.items() if k != "rules"}
    valid: list[tuple[int, Rule]] = []
    checks: list[tuple[tuple[Any, ...], type[BaseModel], Any]] = [((), RulesFile, envelope)]
    if not isinstance(rules_data, list):
        problems.append(f"{source}:{located.line(('rules',))}: rules: expected a list of rules")
        rules_data = []
    checks += [(("rules", i), Rule, item) for i, item in enumerate(rules_data)]
    for prefix, model, item in checks:
        try:
            parsed = model.model_validate(item)
        except ValidationError as exc:
            for error in exc.errors():
                loc = (*prefix, *error["loc"])
                message = error["msg"].removeprefix("Value error, ")
                problems.append(_format(source, located.line(loc), data, loc, message))
            continue
        if isinstance(parsed, Rule):
            valid.append((prefix[1], parsed))
    return valid


def _check_keys(rule: Rule, variables: Variables, source: str, located: _Located, index: int) -> list[str]:
    """Grouping keys (slice.by, first_n.by) must be attributes a trace summary keeps."""
    problems = []
    for section in ("slice", "first_n"):
        spec = getattr(rule, section)
        if spec is None:
            continue
        for i, key in enumerate(spec.by):
            if variables.lookup(key, Level.trace) is None or key.startswith(("trace.", "feedback.")):
                line = located.line(("rules", index, section, "by", i))
                reason = variables.why_not(key, Level.trace)
                problems.append(f"{source}:{line}: rule {rule.name!r}: {section}.by: {reason}")
    return problems
