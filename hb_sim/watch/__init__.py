"""``hb-sim watch``: follow a real tracker and HSM in the live view."""

from __future__ import annotations

from .._public import claim as _claim
from ._cli import watch
from ._watcher import Watcher, WatchError, read_xnames_file, run_watch, tracker_api_url

__all__ = ["WatchError", "Watcher", "read_xnames_file", "run_watch", "tracker_api_url", "watch"]


_claim(__name__, [n for n in __all__ if n in globals()], globals())
