"""Templates and the small formatting helpers they share.

Jinja2 autoescapes every value; the only markup that reaches a page unescaped is the SVG drawn by
:mod:`tracelock.report.svg` (which escapes its own labels), passed through :func:`svg`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

__all__ = ["environment", "page_url", "svg"]


def svg(markup: str) -> Markup:
    """Chart markup from report/svg.py, which escapes every label and value it draws."""
    return Markup(markup)


def page_url(path: str, params: Mapping[str, Any] | list[tuple[str, Any]] | None = None, **more: Any) -> str:
    """``path?query`` with empty values left out, so a URL names only the filters that are set."""
    items = list(params.items() if isinstance(params, Mapping) else params or [])
    items += list(more.items())
    pairs: list[tuple[str, str]] = []
    for key, value in items:
        values = value if isinstance(value, list | tuple) else [value]
        pairs += [(key, str(v)) for v in values if v not in (None, "")]
    return path + ("?" + urlencode(pairs) if pairs else "")


def _pct(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value * 100:.{digits}f}%"


def _pp(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.1f} pp"


def _when(value: datetime | None) -> str:
    return "-" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"


def _ms(nanoseconds: int | float | None) -> str:
    if nanoseconds is None:
        return "-"
    ms = nanoseconds / 1e6
    return f"{ms:.0f} ms" if ms >= 10 else f"{ms:.2f} ms"


def _num(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("tracelock.board", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates ship with the package: no stat() of every template per render
    )
    env.filters.update(pct=_pct, pp=_pp, when=_when, ms=_ms, num=_num)
    env.globals.update(url=page_url)
    return env
