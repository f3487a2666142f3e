"""How the service is exposed and observed: metrics, TLS, the admin token, and the HTTP
server's limits.

They are not HBTD parameters (``/params`` does not show them and they cannot be PATCHed), so
they travel apart from ``Params``: the command line gathers them into :class:`Operability`,
which ``serve`` takes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ._auth import AdminAuth
from ._limits import Limits

__all__ = ["HttpSettings", "Operability"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Operability:
    """How the service is exposed and observed.

    Attributes:
        metrics: serve ``/hmi/v1/metrics`` and keep its histograms.
        certfile: PEM certificate chain; with ``keyfile``, the server speaks HTTPS only.
        keyfile: PEM private key of ``certfile``.
        admin: the admin token and what it protects; None leaves everything open.
    """

    metrics: bool = True
    certfile: Path | None = None
    keyfile: Path | None = None
    admin: AdminAuth | None = None

    def __post_init__(self) -> None:
        if (self.certfile is None) != (self.keyfile is None):
            raise ValueError("--certfile and --keyfile go together")

    def describe(self) -> str:
        """One line for the start-up log (never the token)."""
        tls = f"HTTPS with {self.certfile}" if self.certfile else "plain HTTP"
        if self.admin is None:
            guarded = "no admin token"
        elif self.admin.protect_reads:
            guarded = "admin token required for PATCH /params and the reads"
        else:
            guarded = "admin token required for PATCH /params"
        return f"metrics {'on' if self.metrics else 'off'}, {tls}, {guarded}"


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpSettings:
    """The HTTP server's settings.

    Attributes:
        limits: timeouts and sizes.
    """

    limits: Limits = field(default_factory=Limits)
