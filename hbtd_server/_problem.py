"""RFC 7807 problem documents, as upstream's hms-base writes them."""

from __future__ import annotations

import json
from http import HTTPStatus

from .core import redact_text

__all__ = ["PROBLEM_CONTENT_TYPE", "problem_body"]

PROBLEM_CONTENT_TYPE = "application/problem+json"


def problem_body(status: int, detail: str | None, instance: str, title: str | None = None) -> bytes:
    """Encode a problem: members ``type``, ``title``, ``detail``, ``instance``, ``status``.

    Like hms-base, an empty detail is left out and the body ends in a newline. A URL's
    password in the detail is replaced by ``***`` (#13).
    """
    document: dict[str, object] = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
    }
    if detail:
        document["detail"] = redact_text(detail)
    document["instance"] = instance
    document["status"] = status
    text = json.dumps(document, separators=(",", ":"))
    # Go's encoder escapes HTML-sensitive characters; a detail can echo client input.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text.encode() + b"\n"
