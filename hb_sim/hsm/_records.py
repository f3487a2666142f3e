"""What the mock HSM holds and records: components, state changes and requests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hbtd_server.core import hms_type

from ..xnames import bogus_nid

__all__ = ["Component", "RecordedRequest", "StateChange"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Component:
    """One HSM component, with the fields of hms-base ``Component`` that the mock keeps.

    Attributes mirror HSM's JSON keys (``ID``, ``Type``, ``State``, ...). ``None`` and empty
    strings are omitted from JSON, as Go's ``omitempty`` does; so are false ``Locked`` and
    ``ReservationDisabled``.
    """

    id: str
    type: str
    state: str = "On"
    flag: str = "OK"
    enabled: bool | None = True
    software_status: str = ""
    role: str = ""
    sub_role: str = ""
    nid: int | None = None
    subtype: str = ""
    net_type: str = ""
    arch: str = ""
    class_: str = ""
    reservation_disabled: bool = False
    locked: bool = False

    @classmethod
    def node(cls, xname: str, *, state: str = "On", flag: str = "OK") -> Component:
        """Build a compute node as HSM discovery would leave it.

        Args:
            xname: a normalized xname.
            state: the initial State.
            flag: the initial Flag.

        Returns:
            A component of the xname's type with Role ``Compute``, HSM's default NID for
            nodes, NetType ``Sling`` and Arch ``X86``.
        """
        kind = hms_type(xname) or "INVALID"
        is_node = kind in ("Node", "VirtualNode")
        return cls(
            id=xname,
            type=kind,
            state=state,
            flag=flag,
            role="Compute" if is_node else "",
            nid=bogus_nid(xname),
            net_type="Sling" if is_node else "",
            arch="X86" if is_node else "",
        )

    def to_json(self) -> dict[str, Any]:
        """Return the component as HSM serializes it, keys in HSM's order."""
        out: dict[str, Any] = {"ID": self.id, "Type": self.type}
        pairs: tuple[tuple[str, Any], ...] = (
            ("State", self.state),
            ("Flag", self.flag),
            ("Enabled", self.enabled),
            ("SoftwareStatus", self.software_status),
            ("Role", self.role),
            ("SubRole", self.sub_role),
            ("NID", self.nid),
            ("Subtype", self.subtype),
            ("NetType", self.net_type),
            ("Arch", self.arch),
            ("Class", self.class_),
            ("ReservationDisabled", self.reservation_disabled or None),
            ("Locked", self.locked or None),
        )
        for key, value in pairs:
            if value is not None and value != "":
                out[key] = value
        return out


@dataclass(frozen=True, slots=True)
class StateChange:
    """What HSM would announce in a State Change Notification after one update.

    Attributes:
        index: position in the change log, from 0.
        time: ``now`` of the update.
        ids: the IDs whose row was updated, in request order.
        state: the new State.
        flag: the Flag of the request (the Flag of a Locked row stays ``Locked``); ``""`` when
            the request's Flag was not a valid flag, as upstream's SCN then carries none.
    """

    index: int
    time: float
    ids: tuple[str, ...]
    state: str
    flag: str

    def to_json(self) -> dict[str, Any]:
        """Return the change as a JSON object."""
        return {"index": self.index, "time": self.time, "ids": list(self.ids),
                "state": self.state, "flag": self.flag}  # fmt: skip


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the mock HSM received.

    Attributes:
        index: position in the request log, from 0; never reused, even when old entries are
            dropped.
        time: arrival time from the app's clock.
        method: the HTTP method.
        path: the request path.
        query: the query parameters, each with all its values.
        body: the decoded JSON body, or None when the body was empty or undecodable.
        raw_body: the body text when it was not decodable JSON, else None.
        status: the HTTP status answered.
    """

    index: int
    time: float
    method: str
    path: str
    query: Mapping[str, tuple[str, ...]]
    body: Any
    raw_body: str | None
    status: int

    def to_json(self) -> dict[str, Any]:
        """Return the record as a JSON object."""
        return {
            "index": self.index,
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "query": {key: list(values) for key, values in self.query.items()},
            "body": self.body,
            "raw_body": self.raw_body,
            "status": self.status,
        }
