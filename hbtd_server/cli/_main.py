"""``hbtd``: the heartbeat tracker's command line.

Flags, environment variables and defaults are upstream's (``--warntime`` or ``HBTD_WARNTIME``,
and so on), so an existing deployment switches without edits; dashed spellings work too.
Numbers take upstream's Go syntax (``0x20`` is 32). Flags win over the environment.
"""

from __future__ import annotations

import errno
import gc
import logging
import resource
import sys
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import click
import trio

from .._exits import EXIT_CANNOT_START, EXIT_INTERRUPTED
from ..core import Params, parse_go_uint, parse_telemetry_host, redact_url
from ..engine import DEFAULT_MAX_COMPONENTS
from ..notify import DEFAULT_CAPACITY, TelemetryPublisher, sm_url_problem
from ..ops import configure_logging
from ..service import serve
from ..store import StoreUnavailable
from ._goflags import GoFlagCommand
from ._http_options import http_from_cli, http_options
from ._ops_options import operability_from_cli, operability_options
from ._store_options import store_from_cli, store_options
from ._workers import run_workers, worker_index, worker_shutdown

__all__ = ["main"]

log = logging.getLogger("hbtd")

# Exit codes (docs/operations.md): 0 after a clean stop (SIGTERM or SIGINT), 2 for a bad flag
# or value (click's usage errors), and those of hbtd_server._exits.

_LISTEN_ERRORS = {
    errno.EADDRINUSE: "another process has port {port}: stop it or choose another --port",
    errno.EACCES: "ports below 1024 need root or CAP_NET_BIND_SERVICE: choose another --port",
    errno.EADDRNOTAVAIL: "{host} is not an address of this machine: check --host",
}


def _tune_garbage_collector() -> None:
    # Every request allocates a few short-lived containers, so the young generation fills
    # thousands of times a second, and older collections walk every tracked record (12,000
    # components and their bookkeeping). Larger thresholds make both rarer; cycles are still
    # collected, only less often. Measured: hbtd / no-op went from 0.86 to 0.97.
    gc.set_threshold(50_000, 50, 100)


def _raise_open_file_limit() -> None:
    # Every node keeps a connection open between heartbeats: 12,000 nodes need 12,000 file
    # descriptors, far above the usual soft limit of 1,024. Raise it to the hard limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as error:
            log.warning("could not raise the open-file limit from %d: %s", soft, error)


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


GO_UINT = _GoUint()
#: 0 asks the system for a free port (tests use it).
PORT = _GoUint(maximum=65535, what="a TCP port (0 to 65535)")


_F = TypeVar("_F", bound=Callable[..., Any])


def _option(*names: str, env: str, help: str, **kwargs: Any) -> Callable[[_F], _F]:
    return click.option(
        *names, envvar=env, show_envvar=True, show_default=True, help=help, **kwargs
    )


@click.command(
    cls=GoFlagCommand,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="hbtd-py", prog_name="hbtd")
@_option("--port", env="HBTD_PORT", type=PORT, default=28500, help="HTTP port to listen on.")
@_option("--host", env="HBTD_HOST", default="0.0.0.0", help="Address to listen on.")
@_option(
    "--warntime",
    env="HBTD_WARNTIME",
    type=GO_UINT,
    default=10,
    help="Seconds without a heartbeat before a node 'might be dead' (HSM Ready/Warning).",
)
@_option(
    "--errtime",
    env="HBTD_ERRTIME",
    type=GO_UINT,
    default=30,
    help="Seconds without a heartbeat before a node is 'declared dead' (HSM Standby/Alert).",
)
@_option(
    "--interval",
    env="HBTD_INTERVAL",
    type=GO_UINT,
    default=5,
    help="Seconds between HSM resends while HSM is down or failing. Detection itself is "
    "deadline-driven and does not poll.",
)
@_option(
    "--kv_url",
    "--kv-url",
    "kv_url",
    env="HBTD_KV_URL",
    default="mem:",
    help="State store: 'mem:' keeps state in this process; http://HOST:2379[,http://...] "
    "keeps it in etcd, shared by replicas and kept across restarts.",
)
@_option(
    "--sm_url",
    "--sm-url",
    "sm_url",
    env="HBTD_SM_URL",
    default="http://localhost:27779/hsm/v2",
    help="HSM base URL; PATCHes go to {sm_url}/State/Components/BulkStateData.",
)
@_option(
    "--sm_retries",
    "--sm-retries",
    "sm_retries",
    env="HBTD_SM_RETRIES",
    type=GO_UINT,
    default=3,
    help="Retries of a failed HSM PATCH, with backoff, within --sm_timeout.",
)
@_option(
    "--sm_timeout",
    "--sm-timeout",
    "sm_timeout",
    env="HBTD_SM_TIMEOUT",
    type=GO_UINT,
    default=10,
    help="Seconds one HSM interaction (a PATCH with its retries) may take.",
)
@_option(
    "--nosm",
    env="HBTD_NOSM",
    is_flag=True,
    default=False,
    help="Send nothing to HSM (changes are kept until Nosm is turned off).",
)
@_option(
    "--use_telemetry",
    "--use-telemetry",
    "use_telemetry",
    env="HBTD_USE_TELEMETRY",
    type=click.BOOL,
    default=True,
    help="Publish heartbeat changes on the telemetry bus (Kafka).",
)
@_option(
    "--telemetry_host",
    "--telemetry-host",
    "telemetry_host",
    env="HBTD_TELEMETRY_HOST",
    default="",
    help="Telemetry bus as host:port:topic.",
)
@_option(
    "--telemetry_buffer",
    "--telemetry-buffer",
    "telemetry_buffer",
    env="HBTD_TELEMETRY_BUFFER",
    type=click.IntRange(min=2),
    default=DEFAULT_CAPACITY,
    help="Telemetry messages held while the bus is slow or down; beyond that the oldest are "
    "dropped and counted (extension).",
)
@_option(
    "--max_components",
    "--max-components",
    "max_components",
    env="HBTD_MAX_COMPONENTS",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_COMPONENTS,
    help="The most components tracked (and HSM changes pending) at once; a heartbeat from a "
    "new component beyond it gets 503 (extension).",
)
@_option(
    "--debug",
    env="HBTD_DEBUG",
    type=GO_UINT,
    default=0,
    help="Log verbosity: 0 logs waves of changes, 1 and up log every change and more.",
)
@_option(
    "--guard_share",
    "--guard-share",
    "guard_share",
    env="HBTD_GUARD_SHARE",
    type=GO_UINT,
    default=50,
    help="Silence guard (extension): hold alerts when more than this percentage of nodes is "
    "in warning and no heartbeat arrives from anyone; 0 disables.",
)
@_option(
    "--guard_min",
    "--guard-min",
    "guard_min",
    env="HBTD_GUARD_MIN",
    type=GO_UINT,
    default=20,
    help="Silence guard: the fewest nodes in warning that can engage it.",
)
@_option(
    "--guard_hold",
    "--guard-hold",
    "guard_hold",
    env="HBTD_GUARD_HOLD",
    type=GO_UINT,
    default=300,
    help="Silence guard: the longest alerts are held, in seconds.",
)
@_option(
    "--reconcile_interval",
    "--reconcile-interval",
    "reconcile_interval",
    env="HBTD_RECONCILE_INTERVAL",
    type=GO_UINT,
    default=300,
    help="Read HSM back every this many seconds and put back what hbtd owns (Ready/OK of a "
    "beating node, Warning and Alert over Ready); also once after start and on taking the "
    "lead; 0 turns it off.",
)
@operability_options
@http_options
@store_options
def main(host: str, **values: Any) -> None:
    """Heartbeat Tracker Service: HBTD API v1 on /hmi/v1, reporting to HSM.

    Nodes POST heartbeats; a node silent for --warntime seconds is reported to HSM as
    Ready/Warning ("might be dead"), silent for --errtime as Standby/Alert ("declared dead").
    """
    configure_logging(log_format=values.pop("log_format"), debug=values["debug"])
    ops = operability_from_cli(values)
    _check_urls(values)
    http = http_from_cli(values)
    _raise_open_file_limit()
    _tune_garbage_collector()
    telemetry = TelemetryPublisher(capacity=values.pop("telemetry_buffer"))
    max_components = values.pop("max_components")
    shared = store_from_cli(values, kv_url=values["kv_url"], port=values["port"])
    try:
        params = Params(**values)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    if shared.workers > 1 and worker_index() is None:
        sys.exit(run_workers(shared.workers))
    try:
        trio.run(
            partial(
                serve,
                params,
                host=host,
                ops=ops,
                telemetry=telemetry,
                store=shared.open_store(),
                replica=shared.replica_name,
                lease_ttl=shared.lease_ttl,
                reuse_port=shared.workers > 1,
                max_components=max_components,
                http=http,
                shutdown_trigger=worker_shutdown if worker_index() is not None else None,
            )
        )
    except BaseException as error:  # each known failure becomes one line
        sys.exit(_exit_for(error, host=host, params=params))


def _check_urls(values: dict[str, Any]) -> None:
    # Refused at start as PATCH /params refuses them, rather than failing later in the log.
    sm_url: str = values["sm_url"]
    problem = sm_url_problem(sm_url)
    if problem is not None:
        raise click.UsageError(
            f"--sm_url {redact_url(sm_url)!r} is not a usable http:// or https:// URL: "
            f"{problem} (for example http://cray-smd/hsm/v2)"
        )
    host: str = values["telemetry_host"]
    if host and parse_telemetry_host(host) is None:
        raise click.UsageError(
            f"--telemetry_host {host!r} is not host:port:topic "
            "(for example kafka:9092:cray-hmsheartbeat-notifications)"
        )


def _exit_for(error: BaseException, *, host: str, params: Params) -> int:
    """Log one line for a failure that stopped the service and return its exit code.

    Raises:
        BaseException: ``error`` itself when it is none of the failures known here (a bug).
    """
    if _find(error, KeyboardInterrupt):
        log.info("interrupted before the service was up")
        return EXIT_INTERRUPTED
    if store_error := _find(error, StoreUnavailable):
        log.error("cannot use the store at --kv_url %s: %s", params.kv_url, store_error)
        return EXIT_CANNOT_START
    if (os_error := _find(error, OSError)) and os_error.errno in _LISTEN_ERRORS:
        log.error(
            "cannot listen on %s:%d: %s; %s",
            host,
            params.port,
            os_error.strerror or os_error,
            _LISTEN_ERRORS[os_error.errno].format(port=params.port, host=host),
        )
        return EXIT_CANNOT_START
    if os_error:  # another system error while starting to serve (a TLS file, a resource)
        log.error("cannot serve on %s:%d: %s", host, params.port, os_error)
        return EXIT_CANNOT_START
    raise error


_E = TypeVar("_E", bound=BaseException)


def _find(error: BaseException, kind: type[_E]) -> _E | None:
    # trio raises what fails inside a nursery wrapped in (nested) exception groups.
    if isinstance(error, kind):
        return error
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            if found := _find(inner, kind):
                return found
    return None
