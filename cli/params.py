"""Click parameter pieces the commands share: enum choices and the ``--format`` option."""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, TypeVar

import click

__all__ = ["enum_choice", "format_option"]

E = TypeVar("E", bound=enum.Enum)
F = TypeVar("F", bound=Callable[..., Any])


def enum_choice(choices: type[E]) -> click.Choice[E]:
    """A choice among an enum's values that hands the command the enum member.

    Click matches an enum's member *names*; the command line has always offered the *values*. They are
    the same word in every enum given here, and this says so at start-up rather than letting an enum
    whose names differ offer different words than its values.
    """
    if any(member.name != member.value for member in choices):
        raise TypeError(f"{choices.__name__}: a choice's member names must equal their values")
    return click.Choice(choices)


def format_option(choices: type[E], default: E, help: str | None = None) -> Callable[[F], F]:
    """The ``--format`` / ``-f`` option of a command, passed to it as ``fmt`` (an enum member)."""
    return click.option("--format", "-f", "fmt", type=enum_choice(choices), default=default, help=help)
