"""One line that says why a network call failed, whatever library raised it.

httpx (over httpcore and trio) reports a refused TLS handshake as ``ConnectError('')``: the
reason (``certificate verify failed: self-signed certificate``, a host name mismatch) is an
``ssl.SSLError`` two or three links down the ``__cause__``/``__context__`` chain, behind a
``trio.BrokenResourceError`` with no message at all. Printing ``f"{type(exc).__name__}: {exc}"``
then gives ``ConnectError: `` and nothing after it. :func:`describe_error` walks the chain and
names the reason; the tracker, the agent and the simulator all word their network errors with
it. Standard library only, so the bare agent can use it.
"""

from __future__ import annotations

import re
import ssl

__all__ = ["describe_error", "tls_failure"]

#: How far down a chain of causes to look (they are short; this only stops a loop).
_MAX_DEPTH = 16
# "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)" -> "wrong version number"
_SSL_NOISE = re.compile(r"^\[[A-Z0-9_: ]+\]\s*|\s*\(_ssl\.c:\d+\)$")


def _chain(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in found and len(found) < _MAX_DEPTH:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def _tls_reason(error: ssl.SSLError) -> str:
    if isinstance(error, ssl.SSLCertVerificationError) and error.verify_message:
        return f"TLS: certificate verify failed: {error.verify_message}"
    text = _SSL_NOISE.sub("", str(error.args[1]) if len(error.args) > 1 else str(error))
    return f"TLS: {text or error.reason or type(error).__name__}"


def _one_line(text: str, limit: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def tls_failure(exc: BaseException) -> ssl.SSLError | None:
    """The TLS error behind ``exc``, if any: retrying will not mend a certificate.

    Args:
        exc: what a call raised.

    Returns:
        The first ``ssl.SSLError`` down the chain of causes, or None.
    """
    return next((e for e in _chain(exc) if isinstance(e, ssl.SSLError)), None)


def describe_error(exc: BaseException, *, limit: int = 200) -> str:
    """``Name: reason`` for a failed call, on one line.

    The reason is a TLS failure found anywhere in the chain of causes (it is always the most
    telling), else the exception's own message, else the first message found down the chain.

    Args:
        exc: what the call raised (``httpx.ConnectError``, ``OSError``, ...).
        limit: most characters of the reason.

    Returns:
        For example ``ConnectError: TLS: certificate verify failed: self-signed certificate``,
        ``ConnectError: [Errno 111] Connection refused``, or ``ReadTimeout: no details``.
    """
    tls = tls_failure(exc)
    if tls is not None:
        reason = _tls_reason(tls)
    else:
        reason = next((text for e in _chain(exc) if (text := str(e).strip())), "no details")
    return f"{type(exc).__name__}: {_one_line(reason, limit)}"
