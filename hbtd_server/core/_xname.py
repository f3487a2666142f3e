"""HMS component names (xnames): recognition and normalization.

A faithful subset of Cray-HPE/hms-xname's ``xnametypes``: every type a heartbeat sender or HSM
can name. Recognition is anchored and lower-case only, as upstream's regexes are; normalization
trims white space, strips leading zeros from every numeric run and lower-cases, as
``NormalizeHMSCompID`` does. ``verify_normalize`` is HSM's ``VerifyNormalizeCompID``: normalize,
then recognize. Every endpoint that takes a name keys components by ``verify_normalize``.
"""

from __future__ import annotations

import re

__all__ = ["MAX_XNAME_LENGTH", "hms_type", "is_node", "normalize", "verify_normalize"]

#: Longer names are rejected before any regex runs: real xnames are far shorter.
MAX_XNAME_LENGTH = 64

_CAB = r"x([0-9]{1,4})"
_CH = _CAB + r"c([0-7])"
_NODE = _CH + r"s([0-9]+)b([0-9]+)n([0-9]+)"

# Type name -> pattern body (anchored below). Order only matters for speed: nodes first.
_PATTERNS: dict[str, str] = {
    "Node": _NODE,
    "VirtualNode": _NODE + r"v([0-9]+)",
    "NodeNic": _NODE + r"i([0-3])",
    "NodeHsnNic": _NODE + r"h([0-3])",
    "NodeAccel": _NODE + r"a([0-9]+)",
    "Memory": _NODE + r"d([0-9]+)",
    "Processor": _NODE + r"p([0-3])",
    "NodeBMC": _CH + r"s([0-9]+)b([0-9]+)",
    "NodeBMCNic": _CH + r"s([0-9]+)b([0-9]+)i([0-3])",
    "NodeEnclosure": _CH + r"s([0-9]+)e([0-9]+)",
    "ComputeModule": _CH + r"s([0-9]+)",
    "Chassis": _CH,
    "ChassisBMC": _CH + r"b(0)",
    "Cabinet": _CAB,
    "CabinetBMC": _CAB + r"b(0)",
    "CabinetPDUController": _CAB + r"m([0-3])",
    "CabinetPDU": _CAB + r"m([0-3])p([0-7])",
    "CabinetCDU": _CAB + r"d([0-1])",
    "CEC": _CAB + r"e([0-1])",
    "CDU": r"d([0-9]+)",
    "CDUMgmtSwitch": r"d([0-9]+)w([0-9]+)",
    "RouterModule": _CH + r"r([0-9]+)",
    "RouterBMC": _CH + r"r([0-9]+)b([0-9]+)",
    "HSNBoard": _CH + r"r([0-9]+)e([0-9]+)",
    "HSNAsic": _CH + r"r([0-9]+)a([0-3])",
    "MgmtSwitch": _CH + r"w([1-9][0-9]*)",
    "MgmtHLSwitch": _CH + r"h([1-9][0-9]*)s([1-9])",
    "System": r"s0",
    "Partition": r"p([0-9]+)(\.([0-9]+))?",
    "SMSBox": r"sms([0-9]+)",
    "All": r"all",
    "AllComp": r"all_comp",
    "AllSvc": r"all_svc",
}
_COMPILED = [(name, re.compile(body)) for name, body in _PATTERNS.items()]
_NODE_RE = re.compile(_NODE)
_LEADING_ZEROS = re.compile(r"(?<![0-9])0+(?=[0-9])")


def hms_type(name: str) -> str | None:
    """Return the HMS type of ``name`` exactly as given, or None when it is no xname.

    Args:
        name: the raw string; it is not normalized, so upper case or ``c00`` do not match.

    Returns:
        The HMS type name (for example ``"Node"``), or None.
    """
    if len(name) > MAX_XNAME_LENGTH:
        return None
    for type_name, pattern in _COMPILED:
        if pattern.fullmatch(name):
            return type_name
    return None


def is_node(name: str) -> bool:
    """Tell whether ``name`` (as given) is a Node xname such as ``x1000c0s0b0n0``."""
    return len(name) <= MAX_XNAME_LENGTH and _NODE_RE.fullmatch(name) is not None


def normalize(name: str) -> str:
    """Trim, strip leading zeros from every number and lower-case, like hms-xname does."""
    return _LEADING_ZEROS.sub("", name.strip().lower())


def verify_normalize(name: str) -> str | None:
    """Normalize ``name`` and return it if it then names an HMS component, else None."""
    if len(name) > MAX_XNAME_LENGTH * 2:
        return None
    normal = normalize(name)
    return normal if hms_type(normal) is not None else None
