"""The engine's log lines, kept apart so that ``engine.py`` reads as what it decides.

Each function writes one line to the ``hbtd`` logger with its structured fields; none decides
anything. The engine calls them as ``logs.<line>`` (checking its own flags first on the hot
path).
"""

from __future__ import annotations

import logging

from .core import Heartbeat, Params, Transition, plural

__all__ = ["component_limit", "guard_engaged", "heartbeat", "log", "params_changed", "transition"]

log = logging.getLogger("hbtd")


def heartbeat(heartbeat: Heartbeat, now: float) -> None:
    """Debug >= 2: one line per heartbeat."""
    # The record's own timestamp is the wall-clock receive time: with the sender's TimeStamp
    # it shows clock skew between a node and the tracker.
    log.debug(
        "heartbeat %s: sender TimeStamp %r, Status %r",
        heartbeat.xname,
        heartbeat.timestamp,
        heartbeat.status,
        extra={
            "event": "heartbeat",
            "xname": heartbeat.xname,
            "sender_timestamp": heartbeat.timestamp,
            "status": heartbeat.status,
            "received": now,
        },
    )


def transition(transition: Transition) -> None:
    """Debug: one line per transition, with its deadline and the sender's last words."""
    kind = transition.kind.name.lower()
    log.debug(
        "%s %s: due %.3f, detected %.3f, sender TimeStamp %r, Status %r",
        transition.xname,
        kind,
        transition.due,
        transition.at,
        transition.sender_timestamp,
        transition.status,
        extra={
            "event": "transition",
            "xname": transition.xname,
            "kind": kind,
            "due": transition.due,
            "detected": transition.at,
            "sender_timestamp": transition.sender_timestamp,
            "status": transition.status,
        },
    )


def component_limit(xname: str, *, tracked: int, pending: int, limit: int) -> None:
    """The first refusal of a burst by the component limit."""
    log.warning(
        "component limit: refusing heartbeats from new components (e.g. %s) while %d "
        "are tracked and %s pending (the limit is %d, --max_components)",
        xname,
        tracked,
        plural(pending, "HSM change"),
        limit,
        extra={"event": "component_limit", "example": xname},
    )


def guard_engaged(*, warning: int, tracked: int, silent_for: float, hold: float) -> None:
    """The silence guard started holding alerts."""
    log.warning(
        "silence guard engaged: %d of %s in warning and no heartbeat "
        "from anyone for %g s; holding alerts for up to %g s",
        warning,
        plural(tracked, "component"),
        silent_for,
        hold,
    )


def params_changed(old: Params, new: Params) -> None:
    """What a change of parameters changed (passwords never shown)."""
    before = old.to_public_json()
    changed = {k: v for k, v in new.to_public_json().items() if before[k] != v}
    if old.sm_url != new.sm_url and "Sm_url" not in changed:
        changed["Sm_url"] = "(new credentials)"
    log.info("parameters changed: %s", ", ".join(f"{k}={v}" for k, v in changed.items()))
