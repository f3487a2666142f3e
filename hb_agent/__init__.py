"""hb_agent: the node-side heartbeat daemon of hbtd-py.

Its command line is :mod:`hb_agent.cli` (``hb-agent run | send | identity``); the daemon's own
modules are private. The one thing other packages use is the bounded reader of HTTP answers,
which lives here because this is the bare package, installed wherever anything is: every HTTP
client of the project (tracker, simulator, agent) reads its answers through it.
"""

from hbtd_server.core import export_names as _export_names

from ._bounded import (
    AnswerRefused,
    BoundedAnswer,
    bound_for_items,
    fetch_bounded,
    read_lines_bounded,
)

__all__ = [
    "AnswerRefused",
    "BoundedAnswer",
    "bound_for_items",
    "fetch_bounded",
    "read_lines_bounded",
]

_export_names(globals())
