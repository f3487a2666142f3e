"""``hbtd``'s command line: its flag groups, Go's flag forms, ``--workers``, and the one way to
start ``hbtd`` as a process.

Each group of flags is a frozen dataclass (:class:`TrackerOptions`, :class:`OpsOptions`,
:class:`HttpOptions`, :class:`StoreOptions`) from whose fields the flags, their ``HBTD_*``
variables and their defaults are made; ``main`` builds one of each and starts the service
with what they say.

Import from here, never from the ``_`` modules.
"""

from __future__ import annotations

from ._command import hbtd_command
from ._goflags import GoFlagCommand, go_style_args
from ._http_options import HttpOptions
from ._main import main
from ._ops_options import OpsOptions
from ._store_options import StoreOptions
from ._tracker_options import TrackerOptions

__all__ = [
    "GoFlagCommand",
    "HttpOptions",
    "OpsOptions",
    "StoreOptions",
    "TrackerOptions",
    "go_style_args",
    "hbtd_command",
    "main",
]
