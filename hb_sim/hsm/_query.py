"""``GET /State/Components``: HSM's query filters over the components."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

from hbtd_server.core import verify_normalize

from ..errors import HsmProblem
from ._gojson import bool_param
from ._records import Component
from ._states import normalize_flag, normalize_state

__all__ = ["BY_LOWER", "query_components"]

_ROLES: Final = ("Compute", "Service", "System", "Application", "Storage", "Management")
_SUBROLES: Final = ("Master", "Worker", "Storage")
# Every HMS type name that hbtd_server.core.hms_type knows, for the ``type`` filter.
_TYPES: Final = (
    "Node", "VirtualNode", "NodeNic", "NodeHsnNic", "NodeAccel", "Memory", "Processor",
    "NodeBMC", "NodeBMCNic", "NodeEnclosure", "ComputeModule", "Chassis", "ChassisBMC",
    "Cabinet", "CabinetBMC", "CabinetPDUController", "CabinetPDU", "CabinetCDU", "CEC", "CDU",
    "CDUMgmtSwitch", "RouterModule", "RouterBMC", "HSNBoard", "HSNAsic", "MgmtSwitch",
    "MgmtHLSwitch", "System", "Partition", "SMSBox", "All", "AllComp", "AllSvc",
)  # fmt: skip
BY_LOWER: Final = {
    "type": {name.lower(): name for name in _TYPES},
    "role": {name.lower(): name for name in _ROLES},
    "subrole": {name.lower(): name for name in _SUBROLES},
}


def query_components(
    components: Iterable[Component], params: Mapping[str, Sequence[str]]
) -> list[dict[str, Any]]:
    """Answer ``GET /State/Components`` for the given query parameters.

    Supported filters: ``id``, ``type``, ``state``, ``flag``, ``role``, ``subrole``,
    ``nid``, ``enabled``; field filters ``stateonly``, ``flagonly``, ``roleonly``,
    ``nidonly``. Names match case-insensitively; repeated values are ORed, different
    parameters ANDed; other parameters are ignored, as in HSM.

    Args:
        components: every component HSM holds.
        params: each parameter name with all its values.

    Returns:
        The ``Components`` list, each a JSON object.

    Raises:
        HsmProblem: 400 ``bad query param: ...`` for a value HSM would refuse.
    """
    merged: dict[str, list[str]] = {}
    for key, values in params.items():
        merged.setdefault(key.lower(), []).extend(values)
    filters: list[Callable[[Component], bool]] = []
    for key, values in merged.items():
        if not values or key.endswith("only"):
            continue
        filters.extend(_filter(key, values))
    fields: tuple[str, ...] | None = None
    for only, keys in (
        ("stateonly", ("ID", "Type", "State", "Flag")),
        ("flagonly", ("ID", "Type", "Flag")),
        ("roleonly", ("ID", "Type", "Role", "SubRole")),
        ("nidonly", ("ID", "Type", "NID")),
    ):
        if only in merged and bool_param(only, merged[only]):
            fields = keys
            break
    out: list[dict[str, Any]] = []
    for component in components:
        if all(check(component) for check in filters):
            full = component.to_json()
            out.append(full if fields is None else {k: full[k] for k in fields if k in full})
    return out


def _filter(key: str, values: list[str]) -> list[Callable[[Component], bool]]:
    if key == "id":
        ids = set()
        for value in values:
            xname = verify_normalize(value)
            if xname is None:
                raise HsmProblem(400, "bad query param: Argument was not a valid xname ID")
            ids.add(xname)
        return [lambda c: c.id in ids]
    if key in ("state", "flag"):
        parse = normalize_state if key == "state" else normalize_flag
        wanted = set()
        for value in values:
            canonical = parse(value)
            if canonical is None:
                what = "State" if key == "state" else "Flag"
                raise HsmProblem(400, f"bad query param: Argument was not a valid HMS {what}")
            wanted.add(canonical)
        if key == "state":
            return [lambda c: c.state in wanted]
        return [lambda c: c.flag in wanted]
    if key in BY_LOWER:
        table = BY_LOWER[key]
        names = set()
        for value in values:
            if value.strip().lower() not in table:
                what = {"type": "Type", "role": "Role", "subrole": "SubRole"}[key]
                raise HsmProblem(400, f"bad query param: Argument was not a valid HMS {what}")
            names.add(table[value.strip().lower()])
        if key == "type":
            return [lambda c: c.type in names]
        if key == "role":
            return [lambda c: c.role in names]
        return [lambda c: c.sub_role in names]
    if key == "nid":
        nids = set()
        for value in values:
            try:
                nids.add(int(value, 10))
            except ValueError:
                raise HsmProblem(400, f"bad query param: NID {value!r} is not a number") from None
        return [lambda c: c.nid in nids]
    if key == "enabled":
        enabled = bool_param(key, values)
        return [lambda c: bool(c.enabled) == enabled]
    return []
