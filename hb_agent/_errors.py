"""The agent's exceptions, in one tree.

::

    AgentError                 anything the agent reports on purpose
    ├── ConfigError            a bad flag, variable or config file; exit code 2
    │   └── IdentityError      no usable xname, NID or tracker URL
    └── SendError              one heartbeat (or /params read) did not succeed
        ├── TrackerUnreachable connection refused, DNS, TLS, timeout: retry with backoff
        ├── TrackerBusy        5xx, 408 or 429: retry with backoff
        └── TrackerRejected    any other non-200 answer: our request is wrong, retrying
                               sooner will not help

httpx's exceptions never leave :mod:`hb_agent._sender`: they are mapped there, in one place, so
the loop only has to tell "retry soon" (:attr:`SendError.retryable`) from "log it once".
"""

from __future__ import annotations

__all__ = [
    "AgentError",
    "ConfigError",
    "IdentityError",
    "SendError",
    "TrackerBusy",
    "TrackerRejected",
    "TrackerUnreachable",
]


class AgentError(Exception):
    """Base of every error the agent raises on purpose."""


class ConfigError(AgentError):
    """A flag, environment variable or config file value cannot be used."""


class IdentityError(ConfigError):
    """The node's identity (xname, NID, tracker URL) is missing or malformed."""


class SendError(AgentError):
    """A request to the tracker did not succeed.

    Attributes:
        cause: a short, stable description used to group repeated failures in the log, e.g.
            ``"HTTP 503"`` or ``"ConnectError"``; the message itself may vary more.
    """

    #: Whether backing off and trying again soon may help.
    retryable: bool = True

    def __init__(self, message: str, *, cause: str) -> None:
        super().__init__(message)
        self.cause = cause


class TrackerUnreachable(SendError):
    """No answer: connection refused or reset, name resolution, TLS, or a timeout."""


class TrackerBusy(SendError):
    """The tracker answered with a 5xx, 408 or 429: it is there but cannot serve now."""


class TrackerRejected(SendError):
    """The tracker answered with another 4xx (or an unexpected code): the request is wrong.

    Attributes:
        status_code: the HTTP status.
    """

    retryable = False

    def __init__(self, message: str, *, cause: str, status_code: int) -> None:
        super().__init__(message, cause=cause)
        self.status_code = status_code
