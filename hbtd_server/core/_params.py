"""The tracker's operating parameters, with upstream's names, JSON shape and PATCH rules.

``GET /params`` shows every value as a string in a fixed key order. ``PATCH /params`` takes
string values with case-insensitive keys, checks them all, and applies all or nothing; the
error detail concatenates one fragment per bad field, in upstream's order. Beyond upstream it
refuses values that would break tracking (Errtime <= Warntime, Interval or Sm_timeout < 1) and
changes that could not take effect (Port, Kv_url).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._errors import InvalidRequest
from ._goparse import parse_go_bool, parse_go_uint
from ._guard import GuardSettings
from ._redact import keep_secret, redact_url

__all__ = ["DEFAULT_PARAMS", "PARAM_NAMES", "ParamChecks", "Params", "parse_telemetry_host"]

#: Per parameter name, a check that returns why a value is unusable, or None (see
#: :meth:`Params.patched`).
ParamChecks = Mapping[str, Callable[[str], str | None]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Params:
    """One consistent set of parameters. Instances are immutable: a PATCH makes a new one."""

    debug: int = 0
    nosm: bool = False
    use_telemetry: bool = True
    telemetry_host: str = ""
    warntime: int = 10
    errtime: int = 30
    port: int = 28500
    kv_url: str = "mem:"
    interval: int = 5
    sm_url: str = "http://localhost:27779/hsm/v2"
    sm_timeout: int = 10
    sm_retries: int = 3
    # Extensions (not in upstream): the mass-silence guard, see core._guard.
    guard_share: int = 50
    guard_min: int = 20
    guard_hold: int = 300
    # Extension: seconds between reads of HSM that put back what hbtd owns; 0 turns it off.
    reconcile_interval: int = 300

    def __post_init__(self) -> None:
        problems = _cross_check(
            warntime=self.warntime,
            errtime=self.errtime,
            interval=self.interval,
            sm_timeout=self.sm_timeout,
        )
        if problems:
            raise ValueError("".join(problems).strip())
        self.guard_settings()  # raises ValueError for out-of-range guard settings

    def to_json(self) -> dict[str, str]:
        """The ``/params`` object: upstream's key order, every value a string."""
        return {name: _as_text(getattr(self, name.lower())) for name in PARAM_NAMES}

    def to_public_json(self) -> dict[str, str]:
        """:meth:`to_json` as clients see it: URL passwords replaced by ``***``."""
        document = self.to_json()
        document["Sm_url"] = redact_url(self.sm_url)
        document["Kv_url"] = redact_url(self.kv_url)
        return document

    def guard_settings(self) -> GuardSettings:
        """The silence guard's settings (``Guard_share`` is a percentage; 0 disables)."""
        if self.guard_share > 100:
            raise ValueError(f"guard_share is a percentage, not {self.guard_share}")
        return GuardSettings(
            share=self.guard_share / 100, min_count=self.guard_min, hold_limit=self.guard_hold
        )

    def patched(self, body: object, *, checks: ParamChecks | None = None) -> Params:
        """Apply a decoded ``PATCH /params`` body and return the new parameters.

        Args:
            body: the decoded JSON. ``None`` (JSON null) changes nothing.
            checks: per field (``"Sm_url"``), the check of the component that will use the
                value: it returns why the value is unusable, or None. The core checks only
                shapes; a value that passed them must still parse where it is used (the HSM
                client's URL parser, say), and is refused here rather than failing there.

        Raises:
            InvalidRequest: with upstream's detail text; nothing is applied.
        """
        if body is None:
            return self
        if not isinstance(body, dict):
            raise InvalidRequest("Invalid JSON data type")
        given: dict[str, Any] = {key.lower(): value for key, value in body.items()}
        for field in PARAM_NAMES:
            value = given.get(field.lower())
            if value is not None and not isinstance(value, str):
                raise InvalidRequest(f"Invalid data type in {field} field. ")
        changes: dict[str, Any] = {}
        problems: list[str] = []
        for field in _RULES:
            raw = given.get(field.lower())
            if not raw:  # absent, null or "" all mean "not supplied", as upstream
                continue
            name = field.lower()
            try:
                value = _RULES[field](self, raw)
                check = checks.get(field) if checks else None
                why_not = check(value) if check is not None and isinstance(value, str) else None
                if why_not is not None:
                    raise _Rejected(f"with invalid value '{redact_url(raw)}' ({why_not})")
                changes[name] = value
            except _Rejected as why:
                problems.append(f"Parameter '{name}' {why.args[0]}; ")
        if not problems:
            # Checked before building: the constructor would raise ValueError (a 500), not this.
            problems = _cross_check(
                **{
                    name: changes.get(name, getattr(self, name))
                    for name in ("warntime", "errtime", "interval", "sm_timeout")
                }
            )
        if problems:
            raise InvalidRequest("".join(problems))
        return dataclasses.replace(self, **changes) if changes else self


class _Rejected(Exception):
    pass


def _uint(_params: Params, raw: str) -> int:
    try:
        return parse_go_uint(raw)
    except ValueError:
        raise _Rejected(f"with illegal value '{raw}'") from None


def _bounded(raw: str, low: int, high: int) -> int:
    value = _uint(DEFAULT_PARAMS, raw)
    if not low <= value <= high:
        raise _Rejected(f"with value '{raw}' outside {low}-{high}")
    return value


def _flag(_params: Params, raw: str) -> bool:
    try:
        return parse_go_bool(raw)
    except ValueError:
        raise _Rejected(f"with illegal value '{raw}'") from None


def _telemetry_flag(_params: Params, raw: str) -> bool:
    try:
        return parse_go_bool(raw)
    except ValueError:
        raise _Rejected(f"with unknown value '{raw}'") from None


def _telemetry_host(_params: Params, raw: str) -> str:
    if parse_telemetry_host(raw) is None:
        raise _Rejected(f"with invalid format '{raw}'")
    return raw


def _port(params: Params, raw: str) -> int:
    # Sending back the current value is accepted, so that GET, edit, PATCH works.
    try:
        if parse_go_uint(raw) == params.port:
            return params.port
    except ValueError:
        pass
    raise _Rejected("can't be changed in PATCH operation")


def _url(params: Params, raw: str) -> str:
    if not raw.startswith(("http://", "https://")) or len(raw) > 2048:
        raise _Rejected(f"with invalid URL '{redact_url(raw)}'")
    # The redacted form GET /params shows keeps the stored password.
    return keep_secret(raw, params.sm_url)


def _kv_url(params: Params, raw: str) -> str:
    # Read-only; the current value is accepted as shown by GET /params too (redacted).
    if keep_secret(raw, params.kv_url) != params.kv_url:
        raise _Rejected("can't be changed in PATCH operation")
    return params.kv_url


def parse_telemetry_host(text: str) -> tuple[str, int, str] | None:
    """Split ``host:port:topic``; None unless it has exactly three parts, a host name, a valid
    port and a Kafka topic name.

    The host and topic go into the Kafka client's configuration as they are: a comma would
    name a second broker there, and white space or a control character no broker at all.
    """
    parts = text.split(":")
    if len(parts) != 3 or not _HOST_NAME.fullmatch(parts[0]) or not _TOPIC.fullmatch(parts[2]):
        return None
    try:
        port = parse_go_uint(parts[1], bits=16)
    except ValueError:
        return None
    if port == 0:
        return None
    return parts[0], port, parts[2]


_HOST_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9._-]{0,252})")
#: Kafka's own rule for topic names.
_TOPIC = re.compile(r"[A-Za-z0-9._-]{1,249}")

#: The parameters, in the order ``GET /params`` shows them (upstream's JSON order).
PARAM_NAMES = (
    "Debug",
    "Nosm",
    "Use_telemetry",
    "Telemetry_host",
    "Warntime",
    "Errtime",
    "Port",
    "Kv_url",
    "Interval",
    "Sm_url",
    "Sm_timeout",
    "Sm_retries",
    "Guard_share",
    "Guard_min",
    "Guard_hold",
    "Reconcile_interval",
)
# Checked in upstream's order of error fragments (Interval before Port, unlike the JSON order).
_RULES: Mapping[str, Callable[[Params, str], object]] = {
    "Debug": _uint,
    "Nosm": _flag,
    "Use_telemetry": _telemetry_flag,
    "Telemetry_host": _telemetry_host,
    "Warntime": _uint,
    "Errtime": _uint,
    "Interval": _uint,
    "Port": _port,
    "Kv_url": _kv_url,
    "Sm_url": _url,
    "Sm_timeout": _uint,
    "Sm_retries": _uint,
    "Guard_share": lambda params, raw: _bounded(raw, 0, 100),
    "Guard_min": lambda params, raw: _bounded(raw, 1, 1 << 31),
    "Guard_hold": lambda params, raw: _bounded(raw, 1, 1 << 31),
    "Reconcile_interval": lambda params, raw: _bounded(raw, 0, 1 << 31),
}


def _as_text(value: object) -> str:
    # Upstream shows every parameter as a string, its flags as "1" or "0".
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _cross_check(*, warntime: int, errtime: int, interval: int, sm_timeout: int) -> list[str]:
    # Upstream accepts these and then misbehaves (no warnings, no audits, every PATCH failing).
    problems = []
    if warntime < 1:
        problems.append(f"Parameter 'warntime' must be at least 1, not {warntime}; ")
    if errtime <= warntime:
        problems.append(
            f"Parameter 'errtime' ({errtime}) must be greater than warntime ({warntime}); "
        )
    if interval < 1:
        problems.append(f"Parameter 'interval' must be at least 1, not {interval}; ")
    if sm_timeout < 1:
        problems.append(f"Parameter 'sm_timeout' must be at least 1, not {sm_timeout}; ")
    return problems


DEFAULT_PARAMS = Params()
