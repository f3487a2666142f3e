"""The telemetry message: upstream's JSON for one heartbeat change, byte for byte (#6)."""

from __future__ import annotations

import json
import re

from ..core import Transition

__all__ = ["MESSAGE_ID", "encode_message"]

MESSAGE_ID = "Heartbeat Change Notification"

_GO_HTML_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)
_SURROGATE = re.compile("[\ud800-\udfff]")


def encode_message(transition: Transition) -> bytes:
    """Upstream's telemetry message for one transition: compact JSON, upstream's key order.

    Strings are escaped as Go's ``encoding/json`` does (``<``, ``>``, ``&`` as ``\\u00XX``,
    non-ASCII as UTF-8), so the bytes match upstream's for the same values.
    """
    target = transition.kind.hsm
    text = json.dumps(
        {
            "MessageID": MESSAGE_ID,
            "ID": transition.xname,
            "NewState": target.state,
            "NewFlag": target.flag,
            "LastHBTimeStamp": transition.sender_timestamp,
            "Info": target.telemetry_info,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).translate(_GO_HTML_ESCAPES)
    try:
        return text.encode()
    except UnicodeEncodeError:  # a lone surrogate from a JSON escape: Go sends U+FFFD
        return _SURROGATE.sub("\ufffd", text).encode()
