"""Per-request keys in the OTel context: ``tracelock.labels(...)`` and ``eval_context(...)``.

Both put one prebuilt, validated dict of canonical attributes in the context (so stamping a span is
one dict lookup and one dict update) and the same entries in W3C Baggage (so the standard propagators
carry them to other services, where :class:`~tracelock.processors.SharedKeysProcessor` reads them back).
Nested scopes merge: inner values win. Both work as context managers and as decorators (sync and async).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from typing import Any, TypeVar

from opentelemetry import baggage as otel_baggage
from opentelemetry import context as otel_context

from tracelock.processors.problems import PROBLEMS, ProblemLog
from tracelock.semconv import KEY_BY_NAME, LABEL_PREFIX, Category, ValueType, label_key, lookup

__all__ = ["STAMP_KEY", "current_keys", "eval_context", "labels", "stamp_from_baggage"]

STAMP_KEY = otel_context.create_key("tracelock.keys")
F = TypeVar("F", bound=Callable[..., Any])

# (labels object, context token) of the scopes open in this thread / asyncio task, innermost last: one
# module-level variable, so a labels object shared across threads or tasks exits its own scope
_Scope = tuple[Any, Token[otel_context.Context]]
_OPEN_SCOPES: ContextVar[tuple[_Scope, ...]] = ContextVar("tracelock_open_scopes", default=())

# canonical keys that may travel in Baggage and be stamped from it
_STAMPABLE_CATEGORIES = (Category.TASK_LABEL, Category.EVAL_KEY, Category.VERSION_KEY)
STAMPABLE: frozenset[str] = frozenset(
    k.name for k in KEY_BY_NAME.values() if k.category in _STAMPABLE_CATEGORIES
) | {"tracelock.origin"}

_FROM_TEXT: dict[ValueType, Callable[[str], Any]] = {
    ValueType.STRING: str,
    ValueType.INT: int,
    ValueType.FLOAT: float,
    ValueType.BOOL: lambda s: {"true": True, "false": False}[s.lower()],
}


def build_keys(
    values: Mapping[str, Any], *, problems: ProblemLog = PROBLEMS, where: str = "labels"
) -> dict[str, Any]:
    """Canonical, validated attributes from short or canonical names; bad values are reported, dropped."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        canonical = label_key(name)
        key = lookup(canonical)
        if key is None:
            problems.report("unknown_key", canonical, "not a key in the tracelock registry", span_name=where)
            continue
        if key.type is ValueType.STRING and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)  # prompt_version=4 is meant as "4"
        if key.type is ValueType.FLOAT and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        problem = key.check(value, canonical)
        if problem is not None:
            problems.violation(problem, span_name=where)
            continue
        out[canonical] = value
    return out


def current_keys(ctx: otel_context.Context | None = None) -> dict[str, Any]:
    """The tracelock keys in effect in ``ctx`` (default: the current context): labels, eval keys, origin."""
    ctx = ctx if ctx is not None else otel_context.get_current()
    keys: Any = ctx.get(STAMP_KEY)
    if keys is None:
        keys = stamp_from_baggage(otel_baggage.get_all(ctx))
    return dict(keys or {})


def stamp_from_baggage(entries: Mapping[str, object] | None) -> dict[str, Any] | None:
    """The registry keys among Baggage entries, typed back from text; unknown/invalid entries skipped."""
    if not entries:
        return None
    out: dict[str, Any] = {}
    for name, raw in entries.items():
        if name not in STAMPABLE and not name.startswith(LABEL_PREFIX):
            continue
        key = lookup(name)
        if key is None or not isinstance(raw, str):
            continue
        try:
            value = _FROM_TEXT[key.type](raw)
        except (ValueError, KeyError):
            continue
        if key.check(value, name) is None:
            out[name] = value
    return out or None


class labels:  # lower-case: used like a function, `with tracelock.labels(intent="refund"):`
    """Stamp task labels on every span started inside (and, through Baggage, in downstream services).

    ``labels(intent="refund", customer_tier="enterprise")``; short names from the registry, canonical
    names, or any other word as a user label ``tracelock.label.<word>``. A mapping may be passed first.
    Invalid values are reported once per key (``tracelock.processors.PROBLEMS``) and left out.
    """

    _where = "tracelock.labels"

    def __init__(self, mapping: Mapping[str, Any] | None = None, /, *, baggage: bool = True, **values: Any):
        merged = {**(mapping or {}), **values}
        self.keys: dict[str, Any] = build_keys(merged, where=self._where)
        self.baggage = baggage

    def context(self, parent: otel_context.Context | None = None) -> otel_context.Context:
        """A context carrying these keys on top of ``parent``'s (default: the current context)."""
        parent = parent if parent is not None else otel_context.get_current()
        inherited: Any = parent.get(STAMP_KEY)
        if inherited is None:
            inherited = stamp_from_baggage(otel_baggage.get_all(parent))
        keys = {**inherited, **self.keys} if inherited else dict(self.keys)
        ctx = otel_context.set_value(STAMP_KEY, keys, parent)
        if self.baggage:
            for name, value in self.keys.items():
                text = ("true" if value else "false") if isinstance(value, bool) else str(value)
                ctx = otel_baggage.set_baggage(name, text, ctx)
        return ctx

    def __enter__(self) -> dict[str, Any]:
        ctx = self.context()
        token = otel_context.attach(ctx)
        _OPEN_SCOPES.set((*_OPEN_SCOPES.get(), (self, token)))
        keys: dict[str, Any] = ctx[STAMP_KEY]  # type: ignore[assignment]  # set just above
        return dict(keys)

    def __exit__(self, *exc: object) -> None:
        scopes = _OPEN_SCOPES.get()
        for i in range(len(scopes) - 1, -1, -1):  # this object's latest scope in this thread/task
            if scopes[i][0] is self:
                _OPEN_SCOPES.set(scopes[:i] + scopes[i + 1 :])
                otel_context.detach(scopes[i][1])
                return

    def __call__(self, fn: F) -> F:
        """Use as a decorator: every call runs inside a fresh scope with these keys."""
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                token = otel_context.attach(self.context())
                try:
                    return await fn(*args, **kwargs)
                finally:
                    otel_context.detach(token)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = otel_context.attach(self.context())
            try:
                return fn(*args, **kwargs)
            finally:
                otel_context.detach(token)

        return wrapper  # type: ignore[return-value]


class eval_context(labels):
    """Mark every span started inside as part of one eval attempt: ``tracelock.origin = "eval"`` plus
    the eval keys, so live and eval spans share one store and stay distinguishable.

    ``tracelock.evals`` wraps each case attempt in this. Extra keyword arguments are labels or version
    keys (``intent=``, ``prompt_version=``...). Keys travel in Baggage too, so a service the eval calls
    over HTTP marks its spans as eval spans as well.
    """

    _where = "tracelock.eval_context"

    def __init__(
        self,
        *,
        run_id: str,
        case_id: str,
        repeat: int = 0,
        dataset_id: str | None = None,
        dataset_version: str | None = None,
        judge_model: str | None = None,
        judge_version: str | None = None,
        baggage: bool = True,
        **values: Any,
    ) -> None:
        keys = {
            "tracelock.origin": "eval",
            "tracelock.eval.run_id": run_id,
            "tracelock.eval.case_id": case_id,
            "tracelock.eval.repeat": repeat,
            "tracelock.dataset.id": dataset_id,
            "tracelock.dataset.version": dataset_version,
            "tracelock.judge.model": judge_model,
            "tracelock.judge.version": judge_version,
        }
        super().__init__(keys, baggage=baggage, **values)
