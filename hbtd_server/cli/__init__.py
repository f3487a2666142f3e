"""``hbtd``'s command line: flags, store options, operability options and ``--workers``.

Import from here, never from the ``_`` modules.
"""

from __future__ import annotations

from ._command import hbtd_command
from ._goflags import GoFlagCommand, go_style_args
from ._http_options import http_from_cli, http_options
from ._main import main
from ._ops_options import operability_from_cli, operability_options
from ._store_options import StoreOptions, store_from_cli, store_options
from ._workers import WORKER_ENV, run_workers, worker_index, worker_shutdown

__all__ = [
    "WORKER_ENV",
    "GoFlagCommand",
    "StoreOptions",
    "go_style_args",
    "hbtd_command",
    "http_from_cli",
    "http_options",
    "main",
    "operability_from_cli",
    "operability_options",
    "run_workers",
    "store_from_cli",
    "store_options",
    "worker_index",
    "worker_shutdown",
]
