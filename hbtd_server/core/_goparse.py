"""Number and boolean syntax as upstream's Go code accepts it.

Upstream parses parameters with ``strconv.ParseUint(v, 0, 32)`` and NIDs with
``strconv.ParseInt(v, 0, 64)``. Python's ``int(v, 0)`` differs (it rejects ``017``, accepts
white space), so the rules are spelled out here: optional ``0x``/``0o``/``0b`` prefix, a bare
leading ``0`` meaning octal, ``_`` only between digits, no white space.
"""

from __future__ import annotations

__all__ = ["parse_go_bool", "parse_go_int", "parse_go_uint"]

_TRUE_WORDS = frozenset({"1", "yes", "on", "true"})
_FALSE_WORDS = frozenset({"0", "no", "off", "false"})
_DIGITS = {2: "01", 8: "01234567", 10: "0123456789", 16: "0123456789abcdefABCDEF"}


def _underscores_ok(text: str) -> bool:
    # Go's underscoreOK: every "_" must sit between digits (a base prefix counts as a digit).
    saw = "^"
    i = 0
    is_hex = False
    if len(text) >= 2 and text[0] == "0" and text[1] in "bBoOxX":
        i, saw, is_hex = 2, "0", text[1] in "xX"
    for ch in text[i:]:
        if "0" <= ch <= "9" or (is_hex and ch in "abcdefABCDEF"):
            saw = "0"
        elif ch == "_":
            if saw != "0":
                return False
            saw = "_"
        else:
            if saw == "_":
                return False
            saw = "!"
    return saw != "_"


def _parse_magnitude(text: str) -> int:
    if not text or not _underscores_ok(text):
        raise ValueError(text)
    plain = text.replace("_", "")
    base = 10
    digits = plain
    if len(plain) >= 2 and plain[0] == "0":
        prefix = plain[1].lower()
        if prefix in "xob":
            base = {"x": 16, "o": 8, "b": 2}[prefix]
            digits = plain[2:]
        else:
            base = 8
            digits = plain[1:]
    allowed = _DIGITS[base]
    if not digits or any(ch not in allowed for ch in digits):
        raise ValueError(text)
    return int(digits, base)


def parse_go_uint(text: str, *, bits: int = 32) -> int:
    """Parse like ``strconv.ParseUint(text, 0, bits)``.

    Raises:
        ValueError: for anything Go would reject, including a sign or an overflow.
    """
    value = _parse_magnitude(text)
    if value >= 1 << bits:
        raise ValueError(text)
    return value


def parse_go_int(text: str, *, bits: int = 64) -> int:
    """Parse like ``strconv.ParseInt(text, 0, bits)``: an optional sign, then as above."""
    sign = 1
    body = text
    if body[:1] in ("+", "-"):
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    value = sign * _parse_magnitude(body)
    if not -(1 << (bits - 1)) <= value < 1 << (bits - 1):
        raise ValueError(text)
    return value


def parse_go_bool(text: str) -> bool:
    """Upstream's word set: 0/no/off/false and 1/yes/on/true, any case."""
    word = text.lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise ValueError(text)
