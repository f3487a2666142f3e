"""Adding a group of click options to a command as one decorator (the store, HTTP and
operability flags are groups that ``hbtd`` and the store tools share)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

__all__ = ["add_options"]

_F = TypeVar("_F", bound=Callable[..., Any])


def add_options(command: _F, options: Sequence[Callable[[Any], Any]]) -> _F:
    """Add ``options`` (``click.option`` decorators) to ``command``.

    Args:
        command: the click command's function.
        options: the decorators, in the order ``--help`` lists them.

    Returns:
        ``command`` with the options.
    """
    for option in reversed(options):
        command = option(command)
    return command
