"""``hb-sim watch``: follow a real tracker and HSM in the live view."""

from __future__ import annotations

from hbtd_server.core import export_names as _export_names

from ._cli import watch
from ._watcher import Watcher, WatchError, read_xnames_file, run_watch, tracker_api_url

__all__ = ["WatchError", "Watcher", "read_xnames_file", "run_watch", "tracker_api_url", "watch"]

_export_names(globals())
