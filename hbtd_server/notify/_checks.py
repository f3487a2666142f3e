"""Parameter checks by the components that use the values: a value ``PATCH /params`` (or the
command line, or the store) hands over must parse where it will be used.

``Sm_url`` is parsed by httpx's URL parser, the one the HSM client uses for every request, and
must name an http(s) scheme, a host and a usable port: a URL that passed a prefix check but not
this parser used to fail only later, inside the HSM poller (``httpx.InvalidURL``).
``Telemetry_host`` is checked by ``core.parse_telemetry_host`` already.
"""

from __future__ import annotations

import re
from types import MappingProxyType

import httpx

from ..core import ParamChecks

__all__ = ["PARAM_CHECKS", "sm_url_problem"]

# What a host may hold once httpx has parsed it (IDNA-encoded names, IPv4, IPv6 without its
# brackets): a percent sign or anything else would only fail at connect time.
_HOST = re.compile(rb"[A-Za-z0-9._~:-]+")


def sm_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be HSM's base URL, or None when the HSM client can use it.

    Args:
        url: a value for ``Sm_url``.

    Returns:
        A short reason (never the URL itself, which may hold a password), or None.
    """
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as error:
        return str(error).split(",")[0][:100] or "not a URL"
    if parsed.scheme not in ("http", "https"):
        return "the scheme must be http or https"
    if not parsed.raw_host:
        return "no host"
    if not _HOST.fullmatch(parsed.raw_host):
        return "not a valid host name or address"
    if parsed.port is not None and not 0 < parsed.port < 65536:
        return "the port must be 1-65535"
    return None


#: Every check of this package, by parameter name (for ``Params.patched``).
PARAM_CHECKS: ParamChecks = MappingProxyType({"Sm_url": sm_url_problem})
