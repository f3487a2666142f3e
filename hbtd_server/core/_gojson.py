"""JSON as Go's ``encoding/json`` writes it: the one encoder for every byte-compatible answer.

Upstream (Go) writes compact JSON, non-ASCII characters as UTF-8, ``<``, ``>``, ``&``, U+2028
and U+2029 as ``\\u00XX``/``\\u20XX`` escapes, and invalid UTF-8 (here: a lone surrogate that
came in through a ``\\ud800`` escape) as U+FFFD. Problem bodies, API answers, telemetry
messages and the mock HSM all use this, so they agree with upstream and with each other.
"""

from __future__ import annotations

import json
import re

__all__ = ["go_json"]

_GO_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)
_SURROGATE = re.compile("[\ud800-\udfff]")


def go_json(value: object) -> bytes:
    """Encode ``value`` (dicts keep their order) as Go's ``json.Marshal`` would.

    Args:
        value: JSON-compatible data.

    Returns:
        The UTF-8 bytes, with no trailing newline.
    """
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False).translate(_GO_ESCAPES)
    try:
        return text.encode()
    except UnicodeEncodeError:  # a lone surrogate: Go writes U+FFFD
        return _SURROGATE.sub("\ufffd", text).encode()
