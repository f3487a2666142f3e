"""RFC 7807 problem documents, as upstream's hms-base writes them."""

from __future__ import annotations

from http import HTTPStatus

from ..core import go_json, redact_text

__all__ = ["PROBLEM_CONTENT_TYPE", "problem_body"]

PROBLEM_CONTENT_TYPE = "application/problem+json"


def problem_body(status: int, detail: str | None, instance: str, title: str | None = None) -> bytes:
    """Encode a problem: members ``type``, ``title``, ``detail``, ``instance``, ``status``.

    Like hms-base, an empty detail is left out and the body ends in a newline. A URL's
    password in the detail is replaced by ``***``.
    """
    document: dict[str, object] = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
    }
    if detail:
        document["detail"] = redact_text(detail)
    document["instance"] = instance
    document["status"] = status
    # As Go writes it: a detail can echo client input, which must not become HTML.
    return go_json(document) + b"\n"
