"""What goes over the wire to the tracker: URLs, heartbeat bodies, the /params answer.

Sans-IO: plain functions on strings, so the sender and the tests share one definition of the
HBTD v1 contract (``POST {base}/heartbeat/{xname}``, ``POST {base}/heartbeat``,
``GET {base}/params``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from ._errors import IdentityError

__all__ = [
    "SHUTDOWN_STATUS",
    "HeartbeatRequest",
    "TrackerParams",
    "format_timestamp",
    "heartbeat_request",
    "parse_params",
    "tracker_base",
]

#: Status of the last heartbeat sent by ``run --announce-shutdown``. An hbtd-py extension of
#: HBTD v1: the tracker stops tracking the node without raising a warning or an alert.
SHUTDOWN_STATUS = "Shutdown"


def tracker_base(url: str) -> str:
    """Return the tracker's API base (``.../hmi/v1``) for a configured URL.

    ``htburl=`` on the kernel command line is the full heartbeat URL
    (``https://api-gw-service-nmn.local/apis/hbtd/hmi/v1/heartbeat``); operators also give the
    base itself, or only the tracker's address (``http://host:28500``, as ``hb-sim watch``
    takes it). All are accepted: a trailing ``/heartbeat`` (and slashes) is removed, and
    ``/hmi/v1`` is added to a URL with no path.

    Args:
        url: an ``http://`` or ``https://`` URL.

    Returns:
        The base URL without a trailing slash.

    Raises:
        IdentityError: when the URL is not http(s) or has no host.
    """
    base = url.strip().rstrip("/")
    if base.endswith("/heartbeat"):
        base = base[: -len("/heartbeat")].rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise IdentityError(
            f"tracker URL {url!r} is not an http:// or https:// URL with a host; expected "
            "http://HOST:PORT, the API base http://HOST:PORT/hmi/v1, or the heartbeat URL "
            "http://HOST:PORT/hmi/v1/heartbeat"
        )
    if parts.path in ("", "/"):
        base += "/hmi/v1"  # only the tracker's address: its API lives under /hmi/v1
    return base


def format_timestamp(moment: datetime) -> str:
    """Format a heartbeat ``TimeStamp``: ISO 8601, microseconds, explicit UTC offset.

    Args:
        moment: an aware datetime.

    Returns:
        For example ``"2026-11-25T09:30:00.000000+00:00"`` (the shape upstream senders use).

    Raises:
        ValueError: when ``moment`` is naive, since a stamp without offset is ambiguous.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("heartbeat timestamps need a UTC offset; got a naive datetime")
    return moment.isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True, kw_only=True)
class HeartbeatRequest:
    """One heartbeat, ready to send: where to and what."""

    url: str
    body: dict[str, str]


def heartbeat_request(
    *,
    base: str,
    xname: str,
    status: str,
    timestamp: str,
    full_form: bool = False,
    hostname: str | None = None,
    nid: int | None = None,
) -> HeartbeatRequest:
    """Build a heartbeat for the xname form or, with ``full_form``, the ``/heartbeat`` form.

    Args:
        base: the tracker base from :func:`tracker_base`.
        xname: the component's normalized xname.
        status: the ``Status`` text, e.g. ``"OK"``.
        timestamp: from :func:`format_timestamp`.
        full_form: post to ``/heartbeat`` with ``Component``, ``Hostname`` and ``NID``.
        hostname: sent in the full form when known.
        nid: sent in the full form when known, as a string like the API schema says.

    Returns:
        The request's URL and JSON body.
    """
    if not full_form:
        return HeartbeatRequest(
            url=f"{base}/heartbeat/{xname}", body={"Status": status, "TimeStamp": timestamp}
        )
    body = {"Component": xname}
    if hostname:
        body["Hostname"] = hostname
    if nid is not None:
        body["NID"] = str(nid)
    body["Status"] = status
    body["TimeStamp"] = timestamp
    return HeartbeatRequest(url=f"{base}/heartbeat", body=body)


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackerParams:
    """The part of the tracker's ``/params`` the agent cares about (seconds; None if absent)."""

    warntime: float | None
    errtime: float | None
    interval: float | None


def parse_params(data: object) -> TrackerParams:
    """Read Warntime, Errtime and Interval from a ``GET /params`` body.

    HBTD sends every value as a string (``{"Warntime": "10", ...}``); numbers are accepted too.
    Missing or unreadable values become None rather than errors: the answer only tunes the
    agent, it never stops it.

    Args:
        data: the decoded JSON body.

    Returns:
        The parsed parameters.
    """
    values: Mapping[str, object] = data if isinstance(data, Mapping) else {}

    def seconds(key: str) -> float | None:
        raw = values.get(key)
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            return None
        try:
            number = float(raw)
        except ValueError:
            return None
        return number if math.isfinite(number) and number > 0 else None

    return TrackerParams(
        warntime=seconds("Warntime"), errtime=seconds("Errtime"), interval=seconds("Interval")
    )
