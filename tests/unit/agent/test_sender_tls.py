"""A refused TLS handshake says why, and is a cause of its own in the outage log (#22).

httpx reports it as ``ConnectError('')`` with the ``ssl`` error down its chain of causes; a
mock transport raises it the same way (the real handshake is in
``tests/integration/test_tls_errors_process.py``).
"""

from __future__ import annotations

import ssl

import httpx
import pytest

from hb_agent._errors import TrackerUnreachable

from .conftest import make_sender


async def test_a_certificate_problem_is_named_and_grouped_apart() -> None:
    def untrusted(request: httpx.Request) -> httpx.Response:
        reason = ssl.SSLCertVerificationError(
            1,
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed "
            "certificate (_ssl.c:1006)",
        )
        reason.verify_message = "self-signed certificate"
        raise httpx.ConnectError("", request=request) from reason

    async with httpx.AsyncClient(transport=httpx.MockTransport(untrusted)) as client:
        with pytest.raises(TrackerUnreachable) as caught:
            await make_sender(client).send(status="OK", timestamp="T")
    assert str(caught.value).endswith(
        ": ConnectError: TLS: certificate verify failed: self-signed certificate"
    )
    assert caught.value.cause == "ConnectError (TLS)"
