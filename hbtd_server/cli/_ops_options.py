"""Operability options (#8): log format, metrics, TLS and the admin token.

They are not HBTD parameters (``/params`` does not show them and they cannot be PATCHed), so
they travel apart from ``Params``: the command line gathers them into :class:`Operability`,
which ``serve`` takes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..http import AdminAuth, Operability
from ..ops import LOG_FORMATS
from ._option_group import add_options

__all__ = ["operability_from_cli", "operability_options"]


_F = TypeVar("_F", bound=Callable[..., Any])

_OPTIONS = (
    click.option(
        "--log-format",
        "--log_format",
        "log_format",
        envvar="HBTD_LOG_FORMAT",
        show_envvar=True,
        show_default=True,
        type=click.Choice(LOG_FORMATS),
        default="text",
        help="Log lines as text, or as JSON objects (timestamp, level, event, fields).",
    ),
    click.option(
        "--metrics",
        "metrics",
        envvar="HBTD_METRICS",
        show_envvar=True,
        show_default=True,
        type=click.Choice(["on", "off"]),
        default="on",
        help="Serve Prometheus metrics at /metrics and /hmi/v1/metrics.",
    ),
    click.option(
        "--certfile",
        envvar="HBTD_CERTFILE",
        show_envvar=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="PEM certificate (chain) to serve HTTPS; needs --keyfile.",
    ),
    click.option(
        "--keyfile",
        envvar="HBTD_KEYFILE",
        show_envvar=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="PEM private key for --certfile.",
    ),
    click.option(
        "--admin-token-file",
        "--admin_token_file",
        "admin_token_file",
        envvar="HBTD_ADMIN_TOKEN_FILE",
        show_envvar=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help="File holding the admin token: PATCH /params then needs 'Authorization: Bearer "
        "<token>'.",
    ),
    click.option(
        "--protect",
        envvar="HBTD_PROTECT",
        show_envvar=True,
        show_default=True,
        type=click.Choice(["admin", "reads"]),
        default="admin",
        help="With --admin-token-file: 'admin' protects PATCH /params; 'reads' also GET "
        "/params, /hbstates, /hbstate, /health and /metrics. Heartbeats and probes stay open.",
    ),
)

#: The keys ``operability_options`` adds to a command's keyword arguments, but ``log_format``,
#: which the command uses first, to set up logging.
_KEYS = ("metrics", "certfile", "keyfile", "admin_token_file", "protect")


def operability_options(command: _F) -> _F:
    """Add the operability flags to a click command."""
    return add_options(command, _OPTIONS)


def operability_from_cli(values: dict[str, Any]) -> Operability:
    """Take the operability flags but ``log_format`` out of a command's keyword arguments.

    Raises:
        click.UsageError: inconsistent flags, or an unusable token file.
    """
    given = {key: values.pop(key) for key in _KEYS}
    token_file: Path | None = given["admin_token_file"]
    if given["protect"] == "reads" and token_file is None:
        raise click.UsageError("--protect reads needs --admin-token-file")
    admin = None
    if token_file is not None:
        try:
            admin = AdminAuth.from_file(token_file, protect_reads=given["protect"] == "reads")
        except (OSError, ValueError) as error:
            raise click.UsageError(f"--admin-token-file {token_file}: {error}") from None
    try:
        return Operability(
            metrics=given["metrics"] == "on",
            certfile=given["certfile"],
            keyfile=given["keyfile"],
            admin=admin,
        )
    except ValueError as error:
        raise click.UsageError(str(error)) from None
