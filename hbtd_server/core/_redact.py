"""Secrets in URLs: ``http://user:password@host/...`` never leaves the process as given.

``--sm_url`` and ``--kv_url`` may carry credentials in their user-info. Wherever a URL can be
seen (log lines, ``/health``, error details, ``GET /params``) the password is replaced by
``***`` (``user:***@host``), or the whole user-info when it has no password (a bare token).
``keep_secret`` lets a client send back what ``GET /params`` showed without losing the secret.
"""

from __future__ import annotations

import re

__all__ = ["REDACTED", "keep_secret", "redact_text", "redact_url"]

#: What replaces a password.
REDACTED = "***"

# scheme "://" user-info "@": user-info holds no "/", "@", white space or quote (RFC 3986
# allows none of them unescaped), so a match never runs into the path or past a JSON string.
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/@\s\"'<>]*)@")


def _redact(match: re.Match[str]) -> str:
    user, colon, password = match["userinfo"].partition(":")
    if colon and password:
        return f"{match['scheme']}{user}:{REDACTED}@"
    return f"{match['scheme']}{REDACTED}@"


def redact_url(url: str) -> str:
    """``url`` with the password of its user-info (or a bare user-info) replaced by ``***``."""
    return redact_text(url)


def redact_text(text: str) -> str:
    """``text`` with the user-info of every URL in it redacted (see :func:`redact_url`)."""
    if "@" not in text:  # the common case, checked first: log lines and details are hot
        return text
    return _USERINFO.sub(_redact, text)


def keep_secret(given: str, current: str) -> str:
    """The URL to store when a client sends ``given`` while ``current`` is in force.

    Sending back the redacted form of the current URL (``GET``, edit, ``PATCH``) keeps the
    secret; anything else is taken as given.
    """
    if given != current and given == redact_url(current):
        return current
    return given
