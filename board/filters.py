"""Reading a page's filters from its query string, with the CLI's parsers and error messages.

Names match the CLI options (``where``, ``by``, ``since``, ``until``, ``dataset``, ``baseline``,
``candidate``) so a URL reads like the command that prints the same table.
"""

from __future__ import annotations

from starlette.requests import Request

from tracelock.errors import ConfigError
from tracelock.report.dimensions import Dimension, parse_assignments, resolve_dimension
from tracelock.report.query import Window

__all__ = ["dimensions", "limit", "one", "selector", "selector_text", "window"]

_MAX_LIMIT = 1000


def one(request: Request, name: str, default: str = "") -> str:
    value = request.query_params.get(name, default)
    if len(value) > 2000:
        raise ConfigError(f"{name}: value longer than 2000 characters", field=name)
    return value.strip()


def selector(request: Request, name: str = "where") -> dict[Dimension, str]:
    items = [v for v in request.query_params.getlist(name) if v.strip()]
    return parse_assignments(items, option=name) if items else {}


def selector_text(selected: dict[Dimension, str]) -> list[str]:
    """The ``KEY=VALUE`` items of a selector, for links that carry it on."""
    return [f"{d.short if d.label is None else 'label.' + d.label}={v}" for d, v in selected.items()]


def dimensions(request: Request, name: str, default: str) -> list[Dimension]:
    text = one(request, name, default) or default
    names = [n.strip() for n in text.split(",") if n.strip()]
    dims = [resolve_dimension(n, option=name) for n in names]
    if len({d.name for d in dims}) != len(dims):
        raise ConfigError(f"a key appears twice in {text!r}", field=name)
    return dims


def window(request: Request) -> Window:
    return Window.parse(one(request, "since") or None, one(request, "until") or None)


def limit(request: Request, default: int = 100) -> int:
    text = one(request, "limit", str(default))
    if not text.isdigit() or not 1 <= int(text) <= _MAX_LIMIT:
        raise ConfigError(f"limit must be a whole number from 1 to {_MAX_LIMIT}, got {text!r}", field="limit")
    return int(text)
