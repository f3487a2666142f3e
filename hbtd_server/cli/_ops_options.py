"""Operability flags: log format, metrics, TLS and the admin token.

They are not HBTD parameters (``/params`` does not show them and they cannot be PATCHed), so
they travel apart from ``Params``: :meth:`OpsOptions.operability` gathers them into
:class:`Operability`, which ``serve`` takes; the log format is used first, to set up logging.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import click

from ..http import AdminAuth, Operability
from ..ops import LOG_FORMATS, LogFormat
from ._flags import flag

__all__ = ["OpsOptions"]

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@dataclass(frozen=True, slots=True, kw_only=True)
class OpsOptions:
    """What the operability flags asked for."""

    DASHED_FIRST: ClassVar[bool] = True

    log_format: LogFormat = flag(
        "Log lines as text, or as JSON objects (timestamp, level, event, fields).",
        type=click.Choice(LOG_FORMATS),
        default="text",
    )
    metrics: str = flag(
        "Serve Prometheus metrics at /metrics and /hmi/v1/metrics.",
        type=click.Choice(["on", "off"]),
        default="on",
    )
    certfile: Path | None = flag(
        "PEM certificate (chain) to serve HTTPS; needs --keyfile.", type=_FILE, default=None
    )
    keyfile: Path | None = flag("PEM private key for --certfile.", type=_FILE, default=None)
    admin_token_file: Path | None = flag(
        "File holding the admin token: PATCH /params then needs 'Authorization: Bearer <token>'.",
        type=_FILE,
        default=None,
    )
    protect: str = flag(
        "With --admin-token-file: 'admin' protects PATCH /params; 'reads' also GET "
        "/params, /hbstates, /hbstate, /health and /metrics. Heartbeats and probes stay open.",
        type=click.Choice(["admin", "reads"]),
        default="admin",
    )

    def operability(self) -> Operability:
        """What the HTTP layer needs: metrics, TLS and the admin token (read from its file).

        Raises:
            click.UsageError: inconsistent flags, or an unusable token file.
        """
        token_file = self.admin_token_file
        if self.protect == "reads" and token_file is None:
            raise click.UsageError("--protect reads needs --admin-token-file")
        admin = None
        if token_file is not None:
            try:
                admin = AdminAuth.from_file(token_file, protect_reads=self.protect == "reads")
            except (OSError, ValueError) as error:
                raise click.UsageError(f"--admin-token-file {token_file}: {error}") from None
        try:
            return Operability(
                metrics=self.metrics == "on",
                certfile=self.certfile,
                keyfile=self.keyfile,
                admin=admin,
            )
        except ValueError as error:
            raise click.UsageError(str(error)) from None
