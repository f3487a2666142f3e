"""Usage errors in one line, for all three command lines (hbtd, hb-agent, hb-sim).

click answers a bad flag with three lines and a blank one::

    Usage: hbtd [OPTIONS]
    Try 'hbtd --help' for help.

    Error: No such option '--bogus'.

In a journal, a CI log or a script's error those are four lines, only one of which says what
is wrong. :class:`OneLineUsage` makes it one, with the hint kept at its end::

    Error: No such option '--bogus'. Try 'hbtd --help' for help.

It needs only click (a dependency of the bare package), so the agent uses it too. A public
module rather than a private one, because the three programs live in three packages.
"""

from __future__ import annotations

from typing import IO, Any

import click

__all__ = ["OneLineUsage", "OneLineUsageError"]


class OneLineUsageError(click.ClickException):
    """A :class:`click.UsageError` shown as one line; exit status 2 all the same.

    Args:
        error: the usage error click or a command raised.
        command_path: the command's path (``hb-agent run``) when ``error`` has no context.
    """

    exit_code = 2

    def __init__(self, error: click.UsageError, *, command_path: str | None = None) -> None:
        super().__init__(" ".join(error.format_message().split()))
        ctx = error.ctx
        self.ctx = ctx
        option: str | None = "--help"
        if ctx is not None:
            command_path = ctx.command_path
            names = ctx.command.get_help_option_names(ctx)
            has_help = ctx.command.get_help_option(ctx) is not None
            option = max(names, key=len) if has_help and names else None
        self.hint = f"Try '{command_path} {option}' for help." if command_path and option else ""

    def show(self, file: IO[Any] | None = None) -> None:
        """Print ``Error: <what is wrong>. Try '<command> --help' for help.`` on one line."""
        message = self.format_message()
        if self.hint:
            ended = message.endswith((".", "?", "!", ".)", "?)"))
            message = f"{message}{' ' if ended else '. '}{self.hint}"
        click.echo(f"Error: {message}", file=file, err=file is None)


class OneLineUsage(click.Command):
    """Mix in before a click command or group class: its usage errors become one line.

    Parsing errors (``make_context``) and those raised while it runs, its subcommands' parsing
    included (``invoke``), are turned into :class:`OneLineUsageError`.
    """

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        """click's, with a usage error shown as one line."""
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as error:
            name = info_name or self.name or ""
            path = f"{parent.command_path} {name}" if parent is not None else name
            raise OneLineUsageError(error, command_path=path) from None

    def invoke(self, ctx: click.Context) -> Any:
        """click's, with a usage error shown as one line."""
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            raise OneLineUsageError(error) from None
