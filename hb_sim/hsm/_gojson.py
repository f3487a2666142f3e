"""Decoding request bodies with Go's ``encoding/json`` manners, as HSM (a Go program) does.

Keys match case-insensitively, a value of the wrong JSON type is a 400 naming the Go struct and
field, and undecodable JSON is a 500 ``error decoding JSON ...``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

from ..errors import HsmProblem

__all__ = [
    "COMPONENTS_POST_FIELDS",
    "COMP_PATCH_FIELDS",
    "COMP_UPDATE_FIELDS",
    "bool_param",
    "decode_json",
    "decode_struct",
]

_Kind = Literal["string", "bool", "int64", "[]string", "raw", "[]Component"]

#: The fields of HSM's ``base.Component`` that a ``CompUpdate`` (a PATCH) can set too.
_SETTABLE_FIELDS: Final[dict[str, _Kind]] = {
    "State": "string",
    "Flag": "string",
    "Enabled": "bool",
    "SoftwareStatus": "string",
    "Role": "string",
    "SubRole": "string",
    "NID": "int64",
    "Subtype": "string",
    "NetType": "string",
    "Arch": "string",
}
COMP_UPDATE_FIELDS: Final[dict[str, _Kind]] = {
    "ComponentIDs": "[]string",
    **_SETTABLE_FIELDS,
    "Group": "[]string",
    "Partition": "[]string",
    "UpdateType": "string",
    "Force": "bool",
    "ExtendedInfo": "raw",
}
COMP_PATCH_FIELDS: Final[dict[str, _Kind]] = {"ID": "string", **COMP_UPDATE_FIELDS}
COMPONENT_FIELDS: Final[dict[str, _Kind]] = {
    "ID": "string",
    "Type": "string",
    **_SETTABLE_FIELDS,
    "Class": "string",
    "ReservationDisabled": "bool",
    "Locked": "bool",
}
COMPONENTS_POST_FIELDS: Final[dict[str, _Kind]] = {"Components": "[]Component", "Force": "bool"}


def _json_kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _reject_constant(name: str) -> object:
    # Go rejects NaN and Infinity; Python's json would accept them.
    raise ValueError(f"invalid character '{name[0]}' looking for beginning of value")


def decode_json(body: bytes) -> Any:
    """Decode a request body as HSM's Go JSON decoder would accept it.

    Args:
        body: the raw request body.

    Returns:
        The decoded value.

    Raises:
        HsmProblem: 500 ``error decoding JSON ...`` when the body is not JSON.
    """
    if not body.strip():
        raise HsmProblem(500, "error decoding JSON unexpected end of JSON input")
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HsmProblem(500, f"error decoding JSON {exc}") from None


def _type_error(what: str, struct: str, name: str, kind: _Kind) -> HsmProblem:
    go_kind = {"[]Component": "[]base.Component", "raw": "json.RawMessage"}.get(kind, kind)
    return HsmProblem(
        500,
        f"error decoding JSON json: cannot unmarshal {what} into Go struct field "
        f"{struct}.{name} of type {go_kind}",
    )


def decode_struct(value: Any, struct: str, fields: Mapping[str, _Kind]) -> dict[str, Any]:
    """Map a decoded JSON value onto a Go struct's fields, case-insensitively.

    Returns a dict keyed by the canonical field name; a field absent or ``null`` is missing.
    Unknown keys are ignored and, as in Go, a later key wins over an earlier one that matches
    the same field.
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise HsmProblem(
            500,
            f"error decoding JSON json: cannot unmarshal {_json_kind(value)} into Go value "
            f"of type {struct}",
        )
    by_lower = {name.lower(): name for name in fields}
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = by_lower.get(key.lower())
        if name is None or item is None:
            continue
        kind = fields[name]
        if kind == "raw":
            out[name] = item
        elif kind == "string":
            if not isinstance(item, str):
                raise _type_error(_json_kind(item), struct, name, kind)
            out[name] = item
        elif kind == "bool":
            if not isinstance(item, bool):
                raise _type_error(_json_kind(item), struct, name, kind)
            out[name] = item
        elif kind == "int64":
            if isinstance(item, bool) or not isinstance(item, int):
                what = f"number {item}" if _json_kind(item) == "number" else _json_kind(item)
                raise _type_error(what, struct, name, kind)
            out[name] = item
        elif kind == "[]string":
            if not isinstance(item, list):
                raise _type_error(_json_kind(item), struct, name, kind)
            for element in item:
                if not isinstance(element, str) and element is not None:
                    raise _type_error(_json_kind(element), struct, name, "string")
            out[name] = ["" if element is None else element for element in item]
        else:  # "[]Component"
            if not isinstance(item, list):
                raise _type_error(_json_kind(item), struct, name, kind)
            out[name] = [decode_struct(element, "base.Component", COMPONENT_FIELDS)
                         for element in item]  # fmt: skip
    return out


def bool_param(name: str, values: Sequence[str]) -> bool:
    value = values[-1].strip().lower()
    if value in ("true", "1", "t", "yes"):
        return True
    if value in ("false", "0", "f", "no", ""):
        return False
    raise HsmProblem(400, f"bad query param: {name} value {values[-1]!r} is not a boolean")
