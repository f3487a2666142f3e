"""Command-line flags declared once, as fields of frozen dataclasses.

Each group of ``hbtd``'s flags (the tracker's parameters, HTTP limits, operability, store) is a
frozen dataclass whose fields are declared with :func:`flag`. :func:`option_groups` turns the
fields into click options and hands the command one instance per group, so a flag's name,
environment variable, default and help are written in one place, and the command never sees
a loose dictionary. From a field ``kv_url`` it makes:

* the flags ``--kv_url`` and ``--kv-url`` (one flag for a one-word name); the group's
  ``DASHED_FIRST`` says which spelling ``--help`` shows first (upstream's parameters and the
  store's flags show the underscore first, as upstream; the others the dashes);
* the environment variable ``HBTD_KV_URL``;
* the default: the field's, which for an HBTD parameter is ``DEFAULT_PARAMS``'s value;
* the click type: the one :func:`flag` gives, else from the annotation: Go's unsigned integers
  for ``int`` (upstream's syntax: ``0x20`` is 32), click's boolean words for ``bool``, text for
  ``str``.

Every option shows its variable and default in ``--help``.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Callable
from typing import Any, ClassVar, Protocol

import click

from ..core import parse_go_uint

__all__ = ["GO_UINT", "PORT", "FlagGroup", "flag", "option_groups"]

_FLAG = "hbtd.flag"
_ENV_PREFIX = "HBTD_"


class _GoUint(click.ParamType):  # type: ignore[type-arg]
    name = "integer"

    def __init__(self, *, maximum: int | None = None, what: str = "a non-negative integer"):
        self._maximum = maximum
        self._what = what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            number = value
        else:
            try:
                number = parse_go_uint(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} is not {self._what}", param, ctx)
        if self._maximum is not None and number > self._maximum:
            self.fail(f"{value!r} is not {self._what}", param, ctx)
        return number


#: A non-negative integer in Go's syntax (``0x20``, ``017``, ``1_000``), as upstream's flags.
GO_UINT = _GoUint()
#: A TCP port; 0 asks the system for a free one (tests use it).
PORT = _GoUint(maximum=65535, what="a TCP port (0 to 65535)")

#: The click type of a field that :func:`flag` gives none, by its annotation.
_TYPES: dict[object, click.ParamType[Any] | None] = {int: GO_UINT, bool: click.BOOL, str: None}


class FlagGroup(Protocol):
    """A frozen dataclass whose fields are all declared with :func:`flag`."""

    #: Whether ``--help`` shows a two-word flag's dashed spelling first.
    DASHED_FIRST: ClassVar[bool]
    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]


@dataclasses.dataclass(frozen=True, slots=True)
class _Flag:
    help: str
    type: click.ParamType[Any] | None
    settings: dict[str, Any]


def flag(
    help: str, *, default: Any, type: click.ParamType[Any] | None = None, **settings: Any
) -> Any:
    """Declare a field of a flag group (see the module's docstring for what it becomes).

    Args:
        help: the flag's line in ``--help``.
        default: the value when neither the flag nor its variable is given; for an HBTD
            parameter, ``DEFAULT_PARAMS``'s (never a copy of it).
        type: the click type, when the annotation's is not the one wanted.
        settings: further ``click.Option`` settings (``is_flag``, ``hidden``, ``callback``...).

    Returns:
        The dataclass field.
    """
    return dataclasses.field(default=default, metadata={_FLAG: _Flag(help, type, settings)})


def _option(group: type[FlagGroup], field: dataclasses.Field[Any], annotation: object) -> Any:
    declared = field.metadata.get(_FLAG)
    if not isinstance(declared, _Flag):
        raise TypeError(f"{group.__name__}.{field.name} is not declared with flag()")
    dashed, underscored = f"--{field.name.replace('_', '-')}", f"--{field.name}"
    if dashed == underscored:
        names = [dashed]
    else:
        names = [dashed, underscored] if group.DASHED_FIRST else [underscored, dashed]
    kind = declared.type
    if kind is None and not declared.settings.get("is_flag"):
        if annotation not in _TYPES:
            raise TypeError(f"{group.__name__}.{field.name}: give flag() a click type")
        kind = _TYPES[annotation]
    return click.option(
        *names,
        field.name,
        type=kind,
        default=field.default,
        envvar=_ENV_PREFIX + field.name.upper(),
        show_envvar=True,
        show_default=True,
        help=declared.help,
        **declared.settings,
    )


def option_groups(
    *groups: type[FlagGroup],
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give a click command the flags of ``groups``, and call it with one instance of each.

    Args:
        groups: the flag groups, in the order ``--help`` lists them; the command takes their
            instances in this order.

    Returns:
        A decorator for the command's function (put it below ``click.command``).

    Raises:
        TypeError: two groups have a field of the same name, or a field was not declared
            with :func:`flag` (a mistake in the code, found when the module is imported).
    """
    names = [field.name for group in groups for field in dataclasses.fields(group)]
    if len(set(names)) != len(names):
        twice = sorted({name for name in names if names.count(name) > 1})
        raise TypeError(f"flags declared in two groups: {', '.join(twice)}")

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(command)
        def with_groups(**values: Any) -> None:
            command(
                *(
                    group(**{field.name: values[field.name] for field in dataclasses.fields(group)})
                    for group in groups
                )
            )

        options = [
            _option(group, field, hints[field.name])
            for group in groups
            for hints in [typing.get_type_hints(group)]
            for field in dataclasses.fields(group)
        ]
        decorated: Callable[..., None] = with_groups
        for option in reversed(options):
            decorated = option(decorated)
        return decorated

    return decorate
