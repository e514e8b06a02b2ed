"""CEL conditions: compiled once at load, checked for unknown names and type mismatches, cheap to skip.

Conditions name attributes by their canonical dotted names. CEL reads ``a.b.c`` as member selection, so
before compiling, every known dotted name (outside string literals) is rewritten to one identifier
(``_v_tracelock__retrieval__empty``); whatever CEL still reports as a free variable is unknown and
rejected with the name as written. The compiled program (Rust, via the ``common-expression-language``
package) is then reused for every span.

Type mismatches: CEL has no implicit conversions, so ``tracelock.feature > 3`` fails on every input.
Each top-level conjunct is run at load on two sample activations (every variable zero, every variable
non-zero); a "no such overload" there is a load error, as is a result that is not a bool.

Skipping: a conjunct that is false when all its attribute variables are absent ("a gate") lets the
collector skip the rule for any span that carries none of those attributes, without calling CEL — sound
because an absent attribute reads as exactly that zero value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any

import cel

from tracelock.sampler.variables import CelType, Level, Variables, VarSpec, convert, zero_value

__all__ = ["CompiledCondition", "ConditionError", "compile_condition"]

_TOKEN = re.compile(
    r"""(?P<str>[rRbB]{0,2}(?:\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'))"""
    r"|(?P<num>0[xX][0-9a-fA-F]+[uU]?|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[uU]?)"
    r"|(?P<chain>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
    r"|(?P<space>\s+)"
    r"|(?P<other>.)"
)
_MACRO_BOUND = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")
_SAMPLES: dict[CelType, tuple[Any, Any]] = {
    CelType.string: ("", "x"),
    CelType.int: (0, 1),
    CelType.double: (0.0, 1.0),
    CelType.bool: (False, True),
}


class ConditionError(ValueError):
    """A condition does not compile, names something unknown, or mixes types. The message says which."""


@dataclass(frozen=True, slots=True)
class Gate:
    """A conjunct that is false unless the span carries at least one of ``attributes``.

    The collector searches requests and spans for these attributes' names before parsing anything.
    """

    attributes: frozenset[str]


@dataclass(frozen=True)
class CompiledCondition:
    """One condition, ready for many evaluations.

    ``variables`` are the names the condition reads (as written); ``gates`` let a caller skip the
    condition when a span carries none of a gate's attributes.
    """

    source: str
    program: Any
    variables: tuple[VarSpec, ...]
    gates: tuple[Gate, ...]

    def activation(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """CEL activation from raw values by name (absent names read as zero values)."""
        return {
            v.identifier: convert(values[v.name], v.type) if v.name in values else zero_value(v.type)
            for v in self.variables
        }

    def evaluate(self, activation: Mapping[str, Any]) -> bool:
        """Run the program on an activation made by :meth:`activation` (raises on runtime errors)."""
        return self.program.execute(activation) is True


def _tokens(source: str) -> list[tuple[str, str]]:
    return [(m.lastgroup or "other", m.group()) for m in _TOKEN.finditer(source)]


def _rewrite(
    source: str, variables: Variables, level: Level, slice_keys: tuple[str, ...]
) -> tuple[str, dict[str, VarSpec], list[str]]:
    """Replace known dotted names by identifiers. Returns (new source, identifier -> spec, unresolved)."""
    out: list[str] = []
    used: dict[str, VarSpec] = {}
    unresolved: list[str] = []
    previous = ""
    for kind, text in _tokens(source):
        if kind == "chain" and previous != ".":
            parts = text.split(".")
            for cut in range(len(parts), 0, -1):
                spec = variables.lookup(".".join(parts[:cut]), level, slice_keys)
                if spec is not None:
                    used[spec.identifier] = spec
                    text = ".".join([spec.identifier, *parts[cut:]])
                    break
            else:
                unresolved.append(text)
        out.append(text)
        if kind != "space":
            previous = text
    return "".join(out), used, unresolved


def _split_conjuncts(source: str) -> list[str]:
    """Top-level ``&&`` operands of ``source`` (the whole source when there is no top-level ``&&``)."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    tokens = _tokens(source)
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        if kind == "other" and text in "([{":
            depth += 1
        elif kind == "other" and text in ")]}":
            depth -= 1
        if depth == 0 and text == "&" and i + 1 < len(tokens) and tokens[i + 1][1] == "&":
            parts.append("".join(current))
            current = []
            i += 2
            continue
        current.append(text)
        i += 1
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def _compile(source: str) -> Any:
    try:
        return cel.compile(source)
    except Exception as exc:  # the binding raises ValueError with the parser's report
        raise ConditionError(f"does not compile: {_first_line(exc)}") from exc


_MANGLED = re.compile(r"_v_(\w+)")


def _first_line(exc: BaseException) -> str:
    """The first line of a CEL error, with rewritten identifiers shown as the names the user wrote."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return _MANGLED.sub(lambda m: m.group(1).replace("__", "."), text)


def _first_sentence(exc: BaseException) -> str:
    return _first_line(exc).split(". ", 1)[0].rstrip(".")


def _unknown(program: Any, used: Mapping[str, VarSpec], unresolved: list[str], source: str) -> list[str]:
    bound = set(_MACRO_BOUND.findall(source))
    free = [name for name in program.variables() if name not in used and name not in bound]
    shown = []
    for name in free:
        chain = next((c for c in unresolved if c == name or c.startswith(name + ".")), name)
        shown.append(chain)
    return shown


def _check_types(program: Any, specs: list[VarSpec], what: str) -> None:
    for index in (0, 1):
        activation = {s.identifier: _SAMPLES[s.type][index] for s in specs}
        try:
            result = program.execute(activation)
        except TypeError as exc:
            raise ConditionError(f"type mismatch in {what}: {_first_sentence(exc)}") from exc
        except Exception:  # data-dependent failures (division by zero, ...) are runtime matters
            continue
        if not isinstance(result, bool):
            raise ConditionError(f"{what} must be a bool, got {type(result).__name__} {result!r}")


def compile_condition(
    source: str, variables: Variables, level: Level, slice_keys: tuple[str, ...] = ()
) -> CompiledCondition:
    """Compile ``source`` for ``level``; raise ConditionError naming the problem."""
    if not source.strip():
        raise ConditionError("is empty")
    rewritten, used, unresolved = _rewrite(source, variables, level, slice_keys)
    program = _compile(rewritten)
    unknown = _unknown(program, used, unresolved, rewritten)
    if unknown:
        name = unknown[0]
        reason = variables.why_not(name, level)
        hint = get_close_matches(name, variables.known_names(level), n=1)
        if hint and reason.startswith("unknown"):
            reason += f" (did you mean {hint[0]!r}?)"
        raise ConditionError(reason)
    specs = sorted(used.values(), key=lambda s: s.name)
    gates: list[Gate] = []
    conjuncts = _split_conjuncts(rewritten)
    for conjunct in conjuncts:
        part = _compile(conjunct)
        part_specs = [used[n] for n in part.variables() if n in used]
        label = "the condition" if len(conjuncts) == 1 else f"{conjunct!r}"
        _check_types(part, part_specs, label)
        gate = _gate(part, part_specs)
        if gate is not None:
            gates.append(gate)
    _check_types(program, specs, "the condition")
    return CompiledCondition(source, program, tuple(specs), tuple(gates))


def _gate(program: Any, specs: list[VarSpec]) -> Gate | None:
    if not specs or any(s.attribute is None for s in specs):
        return None
    try:
        absent = program.execute({s.identifier: zero_value(s.type) for s in specs})
    except Exception:
        return None
    if absent is not False:
        return None
    return Gate(frozenset(s.attribute for s in specs if s.attribute))
