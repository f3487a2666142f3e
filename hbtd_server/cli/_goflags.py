"""Go's flag syntax on top of click, so upstream's command lines work unchanged.

Upstream ``hbtd`` parses its flags with Go's ``flag`` package, and operators' Helm values and
scripts use its forms: ``-warntime 20``, ``-warntime=20``, ``--nosm``, ``-nosm=true``,
``--nosm=false``, ``-use_telemetry=no``. click knows only ``--name value`` and
``--name=value``, reads ``-warntime`` as the short option ``-w``, and refuses any value for
an on/off flag. :class:`GoFlagCommand` rewrites the arguments before click parses them:

* ``-name`` and ``-name=value`` become ``--name`` and ``--name=value`` (a single dash before a
  long name, as Go allows);
* ``--flag=VALUE`` for an on/off flag takes any boolean Go's ``strconv.ParseBool`` accepts
  (``1 0 t f T F true false TRUE FALSE True False``, and click's ``yes/no/on/off`` too):
  true is ``--flag``; false sets the flag off, over its environment variable as well.

It works from the command's own option list, so a flag added later gets these forms for free.
Arguments after ``--`` and the values of options that take one are left alone.
"""

from __future__ import annotations

from typing import Any

import click

from ..usage import OneLineUsage

__all__ = ["GoFlagCommand", "go_style_args"]

_FALSE_FLAGS = "hbtd.goflags.false"


def _options_by_name(command: click.Command) -> dict[str, click.Option]:
    names: dict[str, click.Option] = {}
    for param in command.params:
        if isinstance(param, click.Option):
            for name in (*param.opts, *param.secondary_opts):
                names[name] = param
    return names


def _is_switch(option: click.Option) -> bool:
    # An on/off flag: takes no value on the command line.
    return option.is_flag and not option.count


def _parse_bool(option_name: str, value: str) -> bool:
    try:
        return bool(click.BOOL.convert(value, None, None))
    except click.BadParameter:
        raise click.UsageError(
            f"Invalid value for '{option_name}': {value!r} is not a boolean "
            "(use true or false, 1 or 0, t or f)"
        ) from None


def go_style_args(command: click.Command, args: list[str]) -> tuple[list[str], set[str]]:
    """Rewrite Go-style flags in ``args`` into click's forms.

    Args:
        command: the command whose options the arguments are for.
        args: the arguments as typed.

    Returns:
        The rewritten arguments, and the parameter names of on/off flags set explicitly off
        (``--nosm=false``), which the caller must set to False after parsing.

    Raises:
        click.UsageError: an on/off flag was given a value that is not a boolean.
    """
    options = _options_by_name(command)
    short = {name for name in options if not name.startswith("--")}
    rewritten: list[str] = []
    off: set[str] = set()
    index = 0
    while index < len(args):
        token = args[index]
        index += 1
        if token == "--":
            rewritten.extend(args[index - 1 :])
            break
        if not token.startswith("-") or token == "-":
            rewritten.append(token)
            continue
        name, equals, value = token.partition("=")
        if not name.startswith("--") and len(name) > 2 and name[:2] not in short:
            name = "-" + name  # Go: -warntime is --warntime
        option = options.get(name)
        if option is None:
            rewritten.append(name + equals + value)
            continue
        if _is_switch(option):
            if not equals:
                rewritten.append(name)
                continue
            wanted = _parse_bool(name, value)
            if name in option.secondary_opts:
                wanted = not wanted
            if wanted:
                rewritten.append(option.opts[0])
            elif option.secondary_opts:
                rewritten.append(option.secondary_opts[0])
            elif option.name is not None:
                off.add(option.name)
            continue
        rewritten.append(name + equals + value)
        if not equals and index < len(args):
            rewritten.append(args[index])  # the option's value, whatever it looks like
            index += 1
    return rewritten, off


class GoFlagCommand(OneLineUsage):
    """A click command that also accepts Go's flag forms (see the module's docstring), and
    shows a usage error in one line."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Rewrite Go-style flags, parse, then apply flags given explicitly as false."""
        rewritten, off = go_style_args(self, args)
        rest = super().parse_args(ctx, rewritten)
        params: dict[str, Any] = ctx.params
        for name in off:
            params[name] = False
        return rest
