"""Go's number and boolean syntax, as upstream parses its numbers and flags with strconv
(docs/configuration.md).

``parse_go_uint`` is ``strconv.ParseUint(s, 0, 32)`` (parameters), ``parse_go_int`` is
``strconv.ParseInt(s, 0, 64)`` (NIDs). Python's ``int(s, 0)`` differs on ``017`` and white
space, which is why these exist.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hbtd_server.core import parse_go_bool, parse_go_int, parse_go_uint


def rejected(parse: Callable[[str], object], text: str) -> bool:
    """Whether ``parse`` refuses ``text`` with ValueError (Go's syntax or range error)."""
    try:
        parse(text)
    except ValueError:
        return True
    return False


@pytest.mark.parametrize(
    ("text", "value"),
    [
        pytest.param("0", 0, id="zero"),
        pytest.param("10", 10, id="decimal"),
        pytest.param("017", 15, id="leading-zero-octal"),
        pytest.param("0o17", 15, id="0o-octal"),
        pytest.param("0O17", 15, id="0O-octal"),
        pytest.param("0x1F", 31, id="hex"),
        pytest.param("0X1f", 31, id="hex-upper-prefix"),
        pytest.param("0x4", 4, id="hex-small"),
        pytest.param("0b101", 5, id="binary"),
        pytest.param("0B1", 1, id="binary-upper"),
        pytest.param("1_0", 10, id="underscore"),
        pytest.param("1_000_000", 1_000_000, id="underscores"),
        pytest.param("0x_1F", 31, id="underscore-after-prefix"),
        pytest.param("0_17", 15, id="underscore-after-octal-zero"),
        pytest.param("00", 0, id="double-zero"),
        pytest.param("4294967295", 4294967295, id="uint32-max"),
        pytest.param("0xFFFFFFFF", 4294967295, id="uint32-max-hex"),
    ],
)
def test_uint_accepts(text: str, value: int) -> None:
    assert parse_go_uint(text) == value


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("-5", id="negative"),
        pytest.param("+1", id="plus-sign"),
        pytest.param("-0", id="negative-zero"),
        pytest.param("4294967296", id="uint32-overflow"),
        pytest.param("0x100000000", id="uint32-overflow-hex"),
        pytest.param(" 1", id="leading-space"),
        pytest.param("1 ", id="trailing-space"),
        pytest.param("1\n", id="trailing-newline"),
        pytest.param("abc", id="letters"),
        pytest.param("1.5", id="float"),
        pytest.param("1e3", id="exponent"),
        pytest.param("08", id="bad-octal-digit"),
        pytest.param("0o8", id="bad-0o-digit"),
        pytest.param("0b2", id="bad-binary-digit"),
        pytest.param("0xG", id="bad-hex-digit"),
        pytest.param("0x", id="hex-prefix-only"),
        pytest.param("0b", id="binary-prefix-only"),
        pytest.param("0x_", id="prefix-underscore-only"),
        pytest.param("_1", id="leading-underscore"),
        pytest.param("1_", id="trailing-underscore"),
        pytest.param("1__0", id="double-underscore"),
        pytest.param("٣", id="arabic-indic-digit"),
        pytest.param("\uff11", id="fullwidth-digit"),
        pytest.param("1,000", id="comma"),
    ],
)
def test_uint_rejects(text: str) -> None:
    assert rejected(parse_go_uint, text)


@pytest.mark.parametrize(
    ("text", "bits", "value"),
    [
        pytest.param("65535", 16, 65535, id="uint16-max"),
        pytest.param("18446744073709551615", 64, 2**64 - 1, id="uint64-max"),
    ],
)
def test_uint_bit_sizes(text: str, bits: int, value: int) -> None:
    assert parse_go_uint(text, bits=bits) == value
    assert rejected(lambda t: parse_go_uint(t, bits=bits), str(value + 1))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        pytest.param("83", 83, id="decimal"),
        pytest.param("-5", -5, id="negative"),
        pytest.param("+5", 5, id="plus"),
        pytest.param("0x1F", 31, id="hex"),
        pytest.param("-0x1F", -31, id="negative-hex"),
        pytest.param("0b101", 5, id="binary"),
        pytest.param("017", 15, id="octal"),
        pytest.param("-017", -15, id="negative-octal"),
        pytest.param("1_000", 1000, id="underscore"),
        pytest.param("+1_0", 10, id="plus-underscore"),
        pytest.param("9223372036854775807", 2**63 - 1, id="int64-max"),
        pytest.param("-9223372036854775808", -(2**63), id="int64-min"),
    ],
)
def test_int_accepts(text: str, value: int) -> None:
    assert parse_go_int(text) == value


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("-", id="sign-only"),
        pytest.param("+", id="plus-only"),
        pytest.param("--5", id="double-sign"),
        pytest.param("+-5", id="mixed-signs"),
        pytest.param("abc", id="letters"),
        pytest.param("9223372036854775808", id="int64-overflow"),
        pytest.param("-9223372036854775809", id="int64-underflow"),
        pytest.param("1" * 27, id="27-digits"),
        pytest.param("1" * 36, id="36-digits"),
        pytest.param("5.0", id="float"),
        pytest.param(" 5", id="leading-space"),
        pytest.param("5 ", id="trailing-space"),
        pytest.param("- 5", id="space-after-sign"),
        pytest.param("-_5", id="underscore-after-sign"),
        pytest.param("08", id="bad-octal"),
    ],
)
def test_int_rejects(text: str) -> None:
    assert rejected(parse_go_int, text)


def test_python_int_base_zero_differs_where_it_matters() -> None:
    # The reason for this module: int(s, 0) would get these wrong.
    assert parse_go_uint("017") == 15
    assert rejected(lambda t: int(t, 0), "017")
    assert int(" 5 ", 0) == 5
    assert rejected(parse_go_int, " 5 ")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        pytest.param("1", True, id="1"),
        pytest.param("yes", True, id="yes"),
        pytest.param("on", True, id="on"),
        pytest.param("true", True, id="true"),
        pytest.param("TRUE", True, id="TRUE"),
        pytest.param("Yes", True, id="Yes"),
        pytest.param("oN", True, id="oN"),
        pytest.param("0", False, id="0"),
        pytest.param("no", False, id="no"),
        pytest.param("off", False, id="off"),
        pytest.param("false", False, id="false"),
        pytest.param("FALSE", False, id="FALSE"),
        pytest.param("No", False, id="No"),
    ],
)
def test_bool_words(text: str, value: bool) -> None:
    assert parse_go_bool(text) is value


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("perhaps", id="perhaps"),
        pytest.param("t", id="t"),
        pytest.param("f", id="f"),
        pytest.param("y", id="y"),
        pytest.param("2", id="2"),
        pytest.param(" yes", id="padded"),
        pytest.param("enable", id="enable"),
    ],
)
def test_bool_rejects(text: str) -> None:
    assert rejected(parse_go_bool, text)
