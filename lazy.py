"""Package names that load on first use (PEP 562), for packages a CLI command imports for one name.

``tracelock report ...`` and ``tracelock lock show`` start faster when ``import tracelock.report`` or
``tracelock.lock`` does not also import every module the package re-exports.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(package: str, module_of: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``package.<module_of[name]>`` when ``name`` is first read."""

    def __getattr__(name: str) -> Any:
        module = module_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    return __getattr__
