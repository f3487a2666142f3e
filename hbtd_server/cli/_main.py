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
from functools import partial
from typing import TypeVar

import click
import trio

from .._exits import EXIT_CANNOT_START, EXIT_INTERRUPTED
from ..core import Params
from ..notify import TelemetryPublisher
from ..ops import configure_logging
from ..service import serve
from ..store import StoreUnavailable
from ._flags import option_groups
from ._goflags import GoFlagCommand
from ._http_options import HttpOptions
from ._ops_options import OpsOptions
from ._store_options import StoreOptions
from ._tracker_options import TrackerOptions
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


@click.command(
    cls=GoFlagCommand,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="hbtd-py", prog_name="hbtd")
@option_groups(TrackerOptions, OpsOptions, HttpOptions, StoreOptions)
def main(tracker: TrackerOptions, ops: OpsOptions, http: HttpOptions, store: StoreOptions) -> None:
    """Heartbeat Tracker Service: HBTD API v1 on /hmi/v1, reporting to HSM.

    Nodes POST heartbeats; a node silent for --warntime seconds is reported to HSM as
    Ready/Warning ("might be dead"), silent for --errtime as Standby/Alert ("declared dead").
    """
    configure_logging(log_format=ops.log_format, debug=tracker.debug)
    # A fixed order (operability, URLs, HTTP, store, parameters): a command line with several
    # problems is always refused for the same first one.
    operability = ops.operability()
    tracker.check_urls()
    http_settings = http.settings()
    _raise_open_file_limit()
    _tune_garbage_collector()
    store.check(kv_url=tracker.kv_url, port=tracker.port)
    params = tracker.params()
    if store.workers > 1 and worker_index() is None:
        sys.exit(run_workers(store.workers))
    try:
        trio.run(
            partial(
                serve,
                params,
                host=tracker.host,
                ops=operability,
                telemetry=TelemetryPublisher(capacity=tracker.telemetry_buffer),
                store=store.open_store(tracker.kv_url),
                replica=store.replica_name,
                lease_ttl=store.lease_ttl,
                reuse_port=store.workers > 1,
                max_components=tracker.max_components,
                http=http_settings,
                shutdown_trigger=worker_shutdown if worker_index() is not None else None,
            )
        )
    except BaseException as error:  # each known failure becomes one line
        sys.exit(_exit_for(error, host=tracker.host, params=params))


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
