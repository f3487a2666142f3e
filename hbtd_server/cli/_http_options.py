"""``hbtd``'s HTTP server flags: the lean server's limits.

They are not HBTD parameters (``/params`` does not show them), so they travel apart from
``Params``, like the operability flags. ``--http-server`` is retired: the lean server is hbtd's
one HTTP server; ``lean`` is still accepted (and changes nothing), anything else is refused
with one line and exit code 2 before anything starts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import click

from ..http import HttpSettings, Limits
from ._flags import flag

__all__ = ["HttpOptions"]

_LIMITS = Limits()
_SECONDS = click.FloatRange(min=0, min_open=True)


def _refuse_other_servers(
    ctx: click.Context, _param: click.Parameter, value: str | None
) -> str | None:
    # One line and exit 2, not click's three-line usage error: a deployment that still asks
    # for hypercorn must read at once why hbtd does not start.
    if value is not None and value != "lean":
        click.echo(
            f"hbtd: --http-server {value} is not available: the lean HTTP server is hbtd's one "
            "server (hypercorn was retired); remove the flag",
            err=True,
        )
        ctx.exit(2)
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpOptions:
    """What the HTTP server flags asked for."""

    DASHED_FIRST: ClassVar[bool] = True

    # Retired: checked first (eager); None or "lean", which changes nothing.
    http_server: str | None = flag(
        "",
        type=click.STRING,
        default=None,
        hidden=True,
        is_eager=True,
        callback=_refuse_other_servers,
    )
    keep_alive_timeout: float = flag(
        "Seconds an idle connection stays open between requests.",
        type=_SECONDS,
        default=_LIMITS.keep_alive_timeout,
    )
    head_timeout: float = flag(
        "Seconds a request line and headers may take from their first byte (and a new "
        "connection to send its first request); then 408 and close.",
        type=_SECONDS,
        default=_LIMITS.head_timeout,
    )
    body_timeout: float = flag(
        "Seconds a whole request body may take; then 408 and close.",
        type=_SECONDS,
        default=_LIMITS.body_timeout,
    )
    send_timeout: float = flag(
        "Seconds an answer may take to compute and send; then the connection closes.",
        type=_SECONDS,
        default=_LIMITS.send_timeout,
    )
    max_header_bytes: int = flag(
        "Largest request line plus headers; beyond it 431 and close.",
        type=click.IntRange(min=256),
        default=_LIMITS.max_header_bytes,
    )
    max_body_bytes: int = flag(
        "Largest request body; beyond it 413 and close (from Content-Length, before reading). "
        "Endpoints keep their own smaller caps.",
        type=click.IntRange(min=0),
        default=_LIMITS.max_body_bytes,
    )
    # 0 on the command line is Limits' None: derived from the open-file limit.
    max_connections: int = flag(
        "Most open connections; at it a new one closes the oldest idle one (or one stuck for "
        "2 s: a request head or body still arriving, an answer the client does not take), or "
        "is closed at once when there is none. 0: the open-file limit less a reserve of "
        "max(64, a tenth).",
        type=click.IntRange(min=0),
        default=_LIMITS.max_connections or 0,
    )
    shutdown_timeout: float = flag(
        "Seconds requests in progress get to finish on SIGTERM/SIGINT.",
        type=click.FloatRange(min=0),
        default=_LIMITS.shutdown_timeout,
    )

    def settings(self) -> HttpSettings:
        """The HTTP server's settings.

        Raises:
            click.UsageError: an inconsistent combination.
        """
        given = {field.name: getattr(self, field.name) for field in dataclasses.fields(Limits)}
        given["max_connections"] = self.max_connections or None
        try:
            limits = Limits(**given)
        except ValueError as error:
            raise click.UsageError(str(error)) from None
        return HttpSettings(limits=limits)
