"""Heartbeat requests: bytes in, a validated :class:`Heartbeat` or an :class:`InvalidRequest` out.

Checks and their detail strings follow upstream, in upstream's order: JSON shape and field types
(``Invalid JSON data type``, ``Invalid data type in <Field> field``), then missing fields
(``Missing Component field``, ``Missing Status field``, ``Missing Timestamp field``), then the
name (``Invalid Component Name``) and the NID (``Invalid NID``). Only nodes beat: a name
of any other HMS type (``s0``, ``all``, ``p1``, a BMC...) is an ``Invalid Component Name`` too,
and a string holding NUL or a lone surrogate (which no node sends, and which breaks encoders
downstream) is refused. Keys match case-insensitively,
so ``TimeStamp`` and ``Timestamp`` both work. Hostname and NID are optional, as the API document
says; when given they are checked (a bad NID is a 400, as upstream) and then dropped, since
nothing reads them (upstream stores neither). Names are normalized; the path form is validated
too (upstream takes any string there).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any, NamedTuple

from ._errors import InvalidRequest, PayloadTooLarge, Rejection
from ._goparse import parse_go_int
from ._xname import MAX_XNAME_LENGTH, is_node, normalize, verify_normalize

__all__ = [
    "MAX_FIELD_LENGTH",
    "MAX_HEARTBEAT_BODY",
    "Heartbeat",
    "JsonLoads",
    "decode_json_body",
    "parse_heartbeat",
]

#: A heartbeat is about 80 bytes; anything near this is not a heartbeat.
MAX_HEARTBEAT_BODY = 16 * 1024
#: Longest Status, TimeStamp, Hostname or NID text accepted.
MAX_FIELD_LENGTH = 256

# (field, its key in lower case): keys match case-insensitively.
_FULL_FIELDS = tuple(
    (field, field.lower()) for field in ("Component", "Hostname", "NID", "Status", "Timestamp")
)
_XNAME_FIELDS = (("Status", "status"), ("Timestamp", "timestamp"))
#: Path names remembered by :func:`_path_node`: more than a machine has nodes.
_PATH_NAMES_REMEMBERED = 65536

JsonLoads = Callable[[bytes], Any]


class Heartbeat(NamedTuple):
    """One accepted heartbeat.

    A named tuple rather than the frozen dataclass the style asks for elsewhere: one is made
    for every heartbeat (4,000 a second), and a frozen dataclass's ``__init__`` cost 0.6 µs of
    the 38 µs a heartbeat costs; it is as immutable.

    Attributes:
        xname: the normalized component name.
        status: the sender's Status text.
        timestamp: the sender's TimeStamp, as sent (never parsed, as upstream).
    """

    xname: str
    status: str
    timestamp: str


def decode_json_body(body: bytes, *, limit: int, fast_loads: JsonLoads | None = None) -> Any:
    """Decode a request body as strict UTF-8 JSON.

    Args:
        body: the raw request body.
        limit: the largest body accepted.
        fast_loads: a faster decoder that accepts a subset of what :func:`json.loads` accepts
            and decodes strings, objects and arrays alike (the server passes ``orjson.loads``;
            it reads an integer beyond 64 bits as a float, which no caller here takes: every
            field read is a string); whatever it refuses (``ValueError``) is decoded again
            here, so that the error says what the standard decoder says.

    Raises:
        PayloadTooLarge: the body is longer than ``limit`` bytes.
        InvalidRequest: it is not UTF-8 JSON, or is nested too deeply to decode.
    """
    if len(body) > limit:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
    if fast_loads is not None:
        try:
            return fast_loads(body)
        except ValueError:
            pass
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest("Request body is not valid UTF-8", Rejection.NOT_UTF8) from None
    try:
        return json.loads(text)
    except RecursionError:
        raise InvalidRequest("JSON is nested too deeply", Rejection.INVALID_JSON) from None
    except ValueError:
        raise InvalidRequest("Invalid JSON data type", Rejection.INVALID_JSON) from None


def parse_heartbeat(
    body: bytes, *, path_xname: str | None = None, fast_loads: JsonLoads | None = None
) -> Heartbeat:
    """Validate a heartbeat POST.

    Args:
        body: the raw request body.
        path_xname: the ``{xname}`` of ``POST /heartbeat/{xname}``, or None for the full form.
        fast_loads: as for :func:`decode_json_body`.

    Returns:
        The heartbeat, with its name normalized.

    Raises:
        InvalidRequest: with upstream's detail text (or PayloadTooLarge).
    """
    document = decode_json_body(body, limit=MAX_HEARTBEAT_BODY, fast_loads=fast_loads)
    if document is None:
        document = {}  # JSON null decodes fine upstream and then misses every field
    elif not isinstance(document, dict):
        raise InvalidRequest("Invalid JSON data type", Rejection.INVALID_JSON)
    fields = _XNAME_FIELDS if path_xname is not None else _FULL_FIELDS
    values = _string_fields(document, fields)

    if path_xname is None and not values.get("Component"):
        raise InvalidRequest("Missing Component field", Rejection.MISSING_COMPONENT)
    status = values.get("Status")
    if not status:
        raise InvalidRequest("Missing Status field", Rejection.MISSING_STATUS)
    timestamp = values.get("Timestamp")
    if not timestamp:
        raise InvalidRequest("Missing Timestamp field", Rejection.MISSING_TIMESTAMP)

    if path_xname is not None:
        xname = _path_node(path_xname) if len(path_xname) <= 2 * MAX_XNAME_LENGTH else None
        if xname is None:
            raise InvalidRequest("Invalid Component Name", Rejection.INVALID_XNAME)
        return Heartbeat(xname, status, timestamp)

    # Upstream's check is on the name exactly as sent (upper case is refused); it is then
    # normalized so that every endpoint agrees on the key.
    component = values["Component"]
    if not is_node(component):
        raise InvalidRequest("Invalid Component Name", Rejection.INVALID_XNAME)
    nid = values.get("NID")
    if nid:
        try:
            parse_go_int(nid)
        except ValueError:
            raise InvalidRequest("Invalid NID", Rejection.INVALID_NID) from None
    return Heartbeat(normalize(component), status, timestamp)


@lru_cache(maxsize=_PATH_NAMES_REMEMBERED)
def _path_node(path_xname: str) -> str | None:
    # Every node sends its own name every few seconds: checking it again costs more than all
    # the rest of a heartbeat. Only short names reach here (verify_normalize's own bound), so
    # the cache stays small: at worst 65,536 names of 128 characters, about 20 MB. Invalid
    # names are remembered too; a client spraying them only pushes real names out, and those
    # are checked again on their next heartbeat.
    xname = verify_normalize(path_xname)
    return xname if xname is not None and is_node(xname) else None


def _string_fields(document: dict[str, Any], fields: tuple[tuple[str, str], ...]) -> dict[str, str]:
    by_lower = {key.lower(): value for key, value in document.items()}
    values: dict[str, str] = {}
    for field, key in fields:
        value = by_lower.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise InvalidRequest(f"Invalid data type in {field} field", Rejection.WRONG_FIELD_TYPE)
        if len(value) > MAX_FIELD_LENGTH:
            raise InvalidRequest(
                f"{field} field is longer than {MAX_FIELD_LENGTH} characters",
                Rejection.FIELD_TOO_LONG,
            )
        if not _clean(value):
            raise InvalidRequest(
                f"Invalid characters in {field} field", Rejection.INVALID_CHARACTERS
            )
        values[field] = value
    return values


def _clean(value: str) -> bool:
    # No NUL, no lone surrogate (JSON's "\ud800" decodes to one; UTF-8 cannot encode it).
    if "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
