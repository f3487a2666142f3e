"""Who this node is and where its tracker lives.

Theory of operation: each identity value (xname, NID, hostname, tracker URL) is looked up in a
fixed order of sources and the first one that gives a value wins::

    flag (--xname)  >  environment (HB_AGENT_XNAME)  >  config file (xname:)
        >  {root}/etc/cray/xname  >  xname= on {root}/proc/cmdline

(``nid`` the same with ``/etc/cray/nid`` and ``nid=``; ``url`` has only ``htburl=`` after the
config file; ``hostname`` has the system's host name.) The first three are "overrides" and are
resolved by the CLI (click knows which of them gave a value); this module does the discovery on
the node, under a changeable ``root`` so tests can use a fake tree. ``csm-node-identity`` writes
``/etc/cray/{xname,nid}`` from the kernel command line at boot, so the files normally agree with
the command line; they come first because an administrator may correct them.

A source that is present but empty is skipped; a value that is present but malformed is an
error, not a reason to fall through, so a typo is never hidden by an older value.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hbtd_server.core import is_node, verify_normalize

from ._errors import IdentityError
from ._wire import tracker_base

__all__ = [
    "IDENTITY_FIELDS",
    "Identity",
    "IdentityReport",
    "Sourced",
    "discover_identity",
    "parse_cmdline",
]

#: The identity values, in the order ``hb-agent identity`` prints them.
IDENTITY_FIELDS = ("xname", "nid", "hostname", "url")

# Kernel parameters are words separated by blanks; a value may be double-quoted to hold blanks
# (the kernel's own rule: no single quotes, no escapes).
_CMDLINE_WORD = re.compile(r'(?:[^\s"]+|"[^"]*"?)+')


@dataclass(frozen=True, slots=True)
class Sourced:
    """A value and where it came from.

    Attributes:
        value: the raw text (stripped), or None when no source had one.
        source: a human description such as ``"/etc/cray/xname"`` or ``"env HB_AGENT_XNAME"``;
            when ``value`` is None, a list of the places that were tried.
    """

    value: str | None
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    """A validated identity, ready for sending.

    Attributes:
        xname: normalized (``x1000c0s0b0n0``).
        nid: the node ID, or None when unknown.
        hostname: the host name, or None when unknown.
        url: the tracker base, e.g. ``http://host:28500/hmi/v1``; None when not needed.
    """

    xname: str
    nid: int | None
    hostname: str | None
    url: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityReport:
    """What discovery found for each value, before validation (what ``identity`` prints)."""

    xname: Sourced
    nid: Sourced
    hostname: Sourced
    url: Sourced
    warnings: tuple[str, ...] = field(default=())

    def items(self) -> list[tuple[str, Sourced]]:
        """Return ``(name, found)`` pairs in :data:`IDENTITY_FIELDS` order."""
        return [(name, getattr(self, name)) for name in IDENTITY_FIELDS]

    def resolve(self, *, need_url: bool = True) -> Identity:
        """Validate the values and return the identity the agent will use.

        Args:
            need_url: whether a missing tracker URL is an error (it is for sending).

        Returns:
            The identity, with the xname normalized and the URL reduced to the API base.

        Raises:
            IdentityError: when the xname (or, with ``need_url``, the URL) is missing, or any
                value is malformed; the message says where the value came from.
        """
        if self.xname.value is None:
            raise IdentityError(f"no xname found: tried {self.xname.source}; set one of them")
        xname = verify_normalize(self.xname.value)
        if xname is None:
            raise IdentityError(
                f"xname {self.xname.value!r} from {self.xname.source} is not a valid HMS"
                " component name (expected something like x1000c0s0b0n0)"
            )
        nid: int | None = None
        if self.nid.value is not None:
            if not self.nid.value.isdecimal():
                raise IdentityError(
                    f"NID {self.nid.value!r} from {self.nid.source} is not a whole number"
                )
            nid = int(self.nid.value)
        url: str | None = None
        if self.url.value is not None:
            try:
                url = tracker_base(self.url.value)
            except IdentityError as exc:
                raise IdentityError(f"{exc} (from {self.url.source})") from None
        elif need_url:
            raise IdentityError(f"no tracker URL found: tried {self.url.source}; set one of them")
        return Identity(xname=xname, nid=nid, hostname=self.hostname.value, url=url)


def parse_cmdline(text: str) -> dict[str, str]:
    """Parse a kernel command line into ``key -> value`` for ``key=value`` words.

    When a key repeats, the last one wins: boot loaders append, so the later word is the
    deliberate one. Words without ``=`` are ignored.

    Args:
        text: the content of ``/proc/cmdline``.

    Returns:
        The parameters, values with surrounding double quotes removed.
    """
    params: dict[str, str] = {}
    for match in _CMDLINE_WORD.finditer(text):
        key, sep, value = match.group().partition("=")
        if sep and key:
            params[key.replace('"', "")] = value.replace('"', "")
    return params


def _read_text(path: Path) -> str | None:
    """Read a small text file; None when it is absent or unreadable."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def discover_identity(
    *,
    root: Path,
    overrides: Mapping[str, Sourced] | None = None,
    gethostname: Callable[[], str] = socket.gethostname,
) -> IdentityReport:
    """Find the node's identity from overrides, then files under ``root``.

    Args:
        root: the file system root to read ``etc/cray/*`` and ``proc/cmdline`` under.
        overrides: values already chosen by flag, environment or config, by field name; a
            :class:`Sourced` whose value is None is ignored.
        gethostname: where the system host name comes from (injected by tests).

    Returns:
        The value and source of each field; nothing is validated yet
        (see :meth:`IdentityReport.resolve`).
    """
    given = {k: v for k, v in (overrides or {}).items() if v.value is not None}
    cmdline_path = root / "proc/cmdline"
    cmdline_text = _read_text(cmdline_path)
    cmdline = parse_cmdline(cmdline_text) if cmdline_text is not None else {}
    warnings: list[str] = []

    def lookup(name: str, file: str | None, param: str | None) -> Sourced:
        if name in given:
            return given[name]
        tried = [f"--{name}", f"HB_AGENT_{name.upper()}", f"the config file's '{name}:'"]
        if file is not None:
            path = root / file
            text = _read_text(path)
            if text is not None and text.strip():
                return Sourced(text.strip(), f"/{file}")
            tried.append(f"/{file}")
        if param is not None:
            value = cmdline.get(param, "").strip()
            if value:
                return Sourced(value, f"/proc/cmdline {param}=")
            tried.append(f"{param}= on /proc/cmdline")
        return Sourced(None, ", ".join(tried[:-1]) + " and " + tried[-1])

    xname = lookup("xname", "etc/cray/xname", "xname")
    nid = lookup("nid", "etc/cray/nid", "nid")
    url = lookup("url", None, "htburl")
    if "hostname" in given:
        hostname = given["hostname"]
    else:
        try:
            host = gethostname().strip()
        except OSError:
            host = ""
        hostname = (
            Sourced(host, "system host name")
            if host
            else Sourced(None, "--hostname, HB_AGENT_HOSTNAME, the config file and the system")
        )
    if xname.value is not None:
        normal = verify_normalize(xname.value)
        if normal is not None and not is_node(normal):
            warnings.append(f"xname {normal} is not a Node; the tracker may not expect it")
    return IdentityReport(
        xname=xname, nid=nid, hostname=hostname, url=url, warnings=tuple(warnings)
    )
