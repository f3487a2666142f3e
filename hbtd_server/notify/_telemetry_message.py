"""The telemetry message: upstream's JSON for one heartbeat change, byte for byte."""

from __future__ import annotations

from ..core import Transition, go_json

__all__ = ["MESSAGE_ID", "encode_message"]

MESSAGE_ID = "Heartbeat Change Notification"


def encode_message(transition: Transition) -> bytes:
    """Upstream's telemetry message for one transition: compact JSON, upstream's key order.

    Strings are escaped as Go's ``encoding/json`` does (``<``, ``>``, ``&`` as ``\\u00XX``,
    non-ASCII as UTF-8), so the bytes match upstream's for the same values.
    """
    target = transition.kind.hsm
    return go_json(
        {
            "MessageID": MESSAGE_ID,
            "ID": transition.xname,
            "NewState": target.state,
            "NewFlag": target.flag,
            "LastHBTimeStamp": transition.sender_timestamp,
            "Info": target.telemetry_info,
        }
    )
