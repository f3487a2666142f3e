"""hb_agent: the node-side heartbeat daemon of hbtd-py.

The public names are re-exported here; the modules themselves are private. The command line is
:mod:`hb_agent.cli` (``hb-agent run | send | identity``).
"""

import contextlib

from ._agent import Agent, AgentOptions
from ._backoff import Backoff
from ._bounded import (
    AnswerRefused,
    BoundedAnswer,
    bound_for_items,
    fetch_bounded,
    read_bounded,
    read_lines_bounded,
)
from ._config import ConfigFile, load_config, parse_probes, parse_size
from ._errors import (
    AgentError,
    ConfigError,
    IdentityError,
    SendError,
    TrackerBusy,
    TrackerRejected,
    TrackerUnreachable,
)
from ._identity import Identity, IdentityReport, Sourced, discover_identity, parse_cmdline
from ._outage import OutageLog
from ._probes import (
    KERNEL_OOPS_STATUS,
    OK_STATUS,
    CommandProbe,
    DiskProbe,
    MemoryProbe,
    Probe,
    ProbeBoard,
    kernel_oopsed,
    run_probes,
)
from ._sender import Sender, make_client
from ._service import serve
from ._systemd import SystemdNotifier
from ._wire import (
    SHUTDOWN_STATUS,
    HeartbeatRequest,
    TrackerParams,
    format_timestamp,
    heartbeat_request,
    parse_params,
    tracker_base,
)

__all__ = [
    "KERNEL_OOPS_STATUS",
    "OK_STATUS",
    "SHUTDOWN_STATUS",
    "Agent",
    "AgentError",
    "AgentOptions",
    "AnswerRefused",
    "Backoff",
    "BoundedAnswer",
    "CommandProbe",
    "ConfigError",
    "ConfigFile",
    "DiskProbe",
    "HeartbeatRequest",
    "Identity",
    "IdentityError",
    "IdentityReport",
    "MemoryProbe",
    "OutageLog",
    "Probe",
    "ProbeBoard",
    "SendError",
    "Sender",
    "Sourced",
    "SystemdNotifier",
    "TrackerBusy",
    "TrackerParams",
    "TrackerRejected",
    "TrackerUnreachable",
    "bound_for_items",
    "discover_identity",
    "fetch_bounded",
    "format_timestamp",
    "heartbeat_request",
    "kernel_oopsed",
    "load_config",
    "make_client",
    "parse_cmdline",
    "parse_params",
    "parse_probes",
    "parse_size",
    "read_bounded",
    "read_lines_bounded",
    "run_probes",
    "serve",
    "tracker_base",
]

# Present the public names as this package's, like httpx does, so reprs and docs do not point
# into private modules.
for _name in __all__:
    _obj = globals()[_name]
    if hasattr(_obj, "__module__") and getattr(_obj, "__module__", "").startswith("hb_agent._"):
        with contextlib.suppress(AttributeError, TypeError):
            _obj.__module__ = "hb_agent"
del _name, _obj
