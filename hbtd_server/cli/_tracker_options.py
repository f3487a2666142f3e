"""The tracker's flags: upstream's parameters (``--warntime`` or ``HBTD_WARNTIME``...), the
``Guard_*`` and ``Reconcile_interval`` extensions, ``--host`` and two capacities.

Every field named like a :class:`Params` field takes its default from ``DEFAULT_PARAMS``, so
the values upstream chose are written once, in ``core/_params.py``; :meth:`TrackerOptions.params`
builds ``Params`` from those fields, so a parameter without a flag fails at once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import click

from ..core import DEFAULT_PARAMS, Params, parse_telemetry_host, redact_url
from ..engine import DEFAULT_MAX_COMPONENTS
from ..notify import DEFAULT_CAPACITY, sm_url_problem
from ._flags import PORT, flag

__all__ = ["TrackerOptions"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackerOptions:
    """What the tracker's flags asked for; the HBTD parameters among them become ``Params``."""

    DASHED_FIRST: ClassVar[bool] = False

    port: int = flag("HTTP port to listen on.", type=PORT, default=DEFAULT_PARAMS.port)
    host: str = flag("Address to listen on.", default="0.0.0.0")
    warntime: int = flag(
        "Seconds without a heartbeat before a node 'might be dead' (HSM Ready/Warning).",
        default=DEFAULT_PARAMS.warntime,
    )
    errtime: int = flag(
        "Seconds without a heartbeat before a node is 'declared dead' (HSM Standby/Alert).",
        default=DEFAULT_PARAMS.errtime,
    )
    interval: int = flag(
        "Seconds between HSM resends while HSM is down or failing. Detection itself is "
        "deadline-driven and does not poll.",
        default=DEFAULT_PARAMS.interval,
    )
    kv_url: str = flag(
        "State store: 'mem:' keeps state in this process; http://HOST:2379[,http://...] "
        "keeps it in etcd, shared by replicas and kept across restarts.",
        default=DEFAULT_PARAMS.kv_url,
    )
    sm_url: str = flag(
        "HSM base URL; PATCHes go to {sm_url}/State/Components/BulkStateData.",
        default=DEFAULT_PARAMS.sm_url,
    )
    sm_retries: int = flag(
        "Retries of a failed HSM PATCH, with backoff, within --sm_timeout.",
        default=DEFAULT_PARAMS.sm_retries,
    )
    sm_timeout: int = flag(
        "Seconds one HSM interaction (a PATCH with its retries) may take.",
        default=DEFAULT_PARAMS.sm_timeout,
    )
    nosm: bool = flag(
        "Send nothing to HSM (changes are kept until Nosm is turned off).",
        is_flag=True,
        default=DEFAULT_PARAMS.nosm,
    )
    use_telemetry: bool = flag(
        "Publish heartbeat changes on the telemetry bus (Kafka).",
        default=DEFAULT_PARAMS.use_telemetry,
    )
    telemetry_host: str = flag(
        "Telemetry bus as host:port:topic.", default=DEFAULT_PARAMS.telemetry_host
    )
    telemetry_buffer: int = flag(
        "Telemetry messages held while the bus is slow or down; beyond that the oldest are "
        "dropped and counted (extension).",
        type=click.IntRange(min=2),
        default=DEFAULT_CAPACITY,
    )
    max_components: int = flag(
        "The most components tracked (and HSM changes pending) at once; a heartbeat from a "
        "new component beyond it gets 503 (extension).",
        type=click.IntRange(min=1),
        default=DEFAULT_MAX_COMPONENTS,
    )
    debug: int = flag(
        "Log verbosity: 0 logs waves of changes, 1 and up log every change and more.",
        default=DEFAULT_PARAMS.debug,
    )
    guard_share: int = flag(
        "Silence guard (extension): hold alerts when more than this percentage of nodes is "
        "in warning and no heartbeat arrives from anyone; 0 disables.",
        default=DEFAULT_PARAMS.guard_share,
    )
    guard_min: int = flag(
        "Silence guard: the fewest nodes in warning that can engage it.",
        default=DEFAULT_PARAMS.guard_min,
    )
    guard_hold: int = flag(
        "Silence guard: the longest alerts are held, in seconds.",
        default=DEFAULT_PARAMS.guard_hold,
    )
    reconcile_interval: int = flag(
        "Read HSM back every this many seconds and put back what hbtd owns (Ready/OK of a "
        "beating node, Warning and Alert over Ready); also once after start and on taking the "
        "lead; 0 turns it off.",
        default=DEFAULT_PARAMS.reconcile_interval,
    )

    def check_urls(self) -> None:
        """Refuse the URLs at start as ``PATCH /params`` refuses them, rather than failing
        later in the log.

        Raises:
            click.UsageError: ``--sm_url`` or ``--telemetry_host`` is unusable.
        """
        problem = sm_url_problem(self.sm_url)
        if problem is not None:
            raise click.UsageError(
                f"--sm_url {redact_url(self.sm_url)!r} is not a usable http:// or https:// URL: "
                f"{problem} (for example http://cray-smd/hsm/v2)"
            )
        if self.telemetry_host and parse_telemetry_host(self.telemetry_host) is None:
            raise click.UsageError(
                f"--telemetry_host {self.telemetry_host!r} is not host:port:topic "
                "(for example kafka:9092:cray-hmsheartbeat-notifications)"
            )

    def params(self) -> Params:
        """The starting parameters.

        Raises:
            click.UsageError: an inconsistent set (Errtime not above Warntime, ...).
        """
        given = {field.name: getattr(self, field.name) for field in dataclasses.fields(Params)}
        try:
            return Params(**given)
        except ValueError as error:
            raise click.UsageError(str(error)) from None
