"""Click parameter pieces the commands share: enum choices, the ``--format`` and ``--locks`` options."""

from __future__ import annotations

import enum
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from tracelock import env

__all__ = ["enum_choice", "format_option", "locks_option"]

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


def locks_option(help: str = "Directory of lock files.") -> Callable[[F], F]:
    """The ``--locks`` / ``-l`` directory of lock files (``TRACELOCK_LOCKS``), passed as ``locks_dir``."""
    return click.option(
        "--locks",
        "-l",
        "locks_dir",
        type=click.Path(path_type=Path),
        default=Path("locks"),
        envvar=env.LOCKS,
        show_envvar=True,
        help=help,
    )
