"""``hbtd``'s HTTP server flags (#12): the lean server's limits.

They are not HBTD parameters (``/params`` does not show them), so they travel apart from
``Params``, like the operability flags. ``--http-server`` is retired: the lean server is hbtd's
one HTTP server; ``lean`` is still accepted (and changes nothing), anything else is refused
with one line and exit code 2 before anything starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..http import HttpSettings, Limits
from ._option_group import add_options

__all__ = ["http_from_cli", "http_options"]

_DEFAULTS = Limits()
_F = TypeVar("_F", bound=Callable[..., Any])


def _flag(name: str, help: str, **kwargs: Any) -> Callable[[_F], _F]:
    dashed = f"--{name}"
    underscored = f"--{name.replace('-', '_')}"
    return click.option(
        dashed,
        underscored,
        name.replace("-", "_"),
        envvar=f"HBTD_{name.replace('-', '_').upper()}",
        show_envvar=True,
        show_default=True,
        help=help,
        **kwargs,
    )


_SECONDS = click.FloatRange(min=0, min_open=True)
_OPTIONS = (
    click.option(
        "--http-server",
        "--http_server",
        "http_server",
        envvar="HBTD_HTTP_SERVER",
        hidden=True,
        expose_value=False,
        is_eager=True,
        callback=lambda ctx, _param, value: _refuse_other_servers(ctx, value),
    ),
    _flag(
        "keep-alive-timeout",
        "Seconds an idle connection stays open between requests.",
        type=_SECONDS,
        default=_DEFAULTS.keep_alive_timeout,
    ),
    _flag(
        "head-timeout",
        "Seconds a request line and headers may take from their first byte (and a new "
        "connection to send its first request); then 408 and close.",
        type=_SECONDS,
        default=_DEFAULTS.head_timeout,
    ),
    _flag(
        "body-timeout",
        "Seconds a whole request body may take; then 408 and close.",
        type=_SECONDS,
        default=_DEFAULTS.body_timeout,
    ),
    _flag(
        "send-timeout",
        "Seconds an answer may take to compute and send; then the connection closes.",
        type=_SECONDS,
        default=_DEFAULTS.send_timeout,
    ),
    _flag(
        "max-header-bytes",
        "Largest request line plus headers; beyond it 431 and close.",
        type=click.IntRange(min=256),
        default=_DEFAULTS.max_header_bytes,
    ),
    _flag(
        "max-body-bytes",
        "Largest request body; beyond it 413 and close (from Content-Length, before reading). "
        "Endpoints keep their own smaller caps.",
        type=click.IntRange(min=0),
        default=_DEFAULTS.max_body_bytes,
    ),
    _flag(
        "max-connections",
        "Most open connections; at it a new one closes the oldest idle one (or one stuck for "
        "2 s: a request head or body still arriving, an answer the client does not take), or "
        "is closed at once when there is none. 0: the open-file limit less a reserve of "
        "max(64, a tenth).",
        type=click.IntRange(min=0),
        default=0,
    ),
    _flag(
        "shutdown-timeout",
        "Seconds requests in progress get to finish on SIGTERM/SIGINT.",
        type=click.FloatRange(min=0),
        default=_DEFAULTS.shutdown_timeout,
    ),
)

_KEYS = (
    "keep_alive_timeout",
    "head_timeout",
    "body_timeout",
    "send_timeout",
    "max_header_bytes",
    "max_body_bytes",
    "max_connections",
    "shutdown_timeout",
)


def _refuse_other_servers(ctx: click.Context, value: str | None) -> None:
    # One line and exit 2, not click's three-line usage error: a deployment that still asks
    # for hypercorn must read at once why hbtd does not start.
    if value is not None and value != "lean":
        click.echo(
            f"hbtd: --http-server {value} is not available: the lean HTTP server is hbtd's one "
            "server (hypercorn was retired); remove the flag",
            err=True,
        )
        ctx.exit(2)


def http_options(command: _F) -> _F:
    """Add the HTTP server flags to a click command."""
    return add_options(command, _OPTIONS)


def http_from_cli(values: dict[str, Any]) -> HttpSettings:
    """Take the HTTP server flags out of a command's keyword arguments.

    Raises:
        click.UsageError: an inconsistent combination.
    """
    given = {key: values.pop(key) for key in _KEYS}
    given["max_connections"] = given["max_connections"] or None
    try:
        return HttpSettings(limits=Limits(**given))
    except ValueError as error:
        raise click.UsageError(str(error)) from None
