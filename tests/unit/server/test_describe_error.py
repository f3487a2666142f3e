"""A failed call says why: the TLS reason behind httpx's empty ``ConnectError`` (#22).

Real handshakes on loopback against a server made here with trustme certificates.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import httpx
import pytest
import trio
import trustme

from hbtd_server.core import describe_error


@asynccontextmanager
async def tls_server(context: ssl.SSLContext) -> AsyncIterator[int]:
    """A TLS server on a loopback port that completes handshakes and then hangs up."""

    async def handle(stream: trio.SocketStream) -> None:
        tls = trio.SSLStream(stream, context, server_side=True)
        try:
            await tls.do_handshake()
            await tls.aclose()
        except trio.BrokenResourceError:
            pass  # the client refused us: what the tests are about

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, handle, 0, host="127.0.0.1"))
        yield listeners[0].socket.getsockname()[1]
        nursery.cancel_scope.cancel()


async def failure(url: str, verify: ssl.SSLContext | bool = True) -> httpx.HTTPError:
    async with httpx.AsyncClient(verify=verify, timeout=5) as client:
        with pytest.raises(httpx.HTTPError) as caught:
            await client.get(url)
    return caught.value


async def test_a_self_signed_certificate_is_named(tmp_path: Path) -> None:
    ca = trustme.CA()
    # The CA's own certificate is self-signed: serve it as the leaf.
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    ca.cert_pem.write_to_path(str(cert))
    ca.private_key_pem.write_to_path(str(key))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    async with tls_server(context) as port:
        error = await failure(f"https://127.0.0.1:{port}/")
    assert str(error) == ""  # what used to be printed: "ConnectError: "
    assert describe_error(error) == (
        "ConnectError: TLS: certificate verify failed: self-signed certificate"
    )


async def test_an_unknown_issuer_and_a_wrong_host_name_are_named() -> None:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    trusted = ssl.create_default_context()
    ca.configure_trust(trusted)
    async with tls_server(context) as port:
        unknown = await failure(f"https://127.0.0.1:{port}/")
        wrong_host = await failure(f"https://127.0.0.1:{port}/", verify=trusted)
    assert describe_error(unknown) == (
        "ConnectError: TLS: certificate verify failed: unable to get local issuer certificate"
    )
    assert describe_error(wrong_host).startswith(
        "ConnectError: TLS: certificate verify failed: IP address mismatch, certificate is not "
        "valid for '127.0.0.1'"
    )


async def test_a_plain_http_server_on_an_https_url_is_named() -> None:
    async def handle(stream: trio.SocketStream) -> None:
        await stream.send_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
        await stream.aclose()

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, handle, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        error = await failure(f"https://127.0.0.1:{port}/")
        nursery.cancel_scope.cancel()
    assert describe_error(error).startswith("ConnectError: TLS: ")
    assert "[SSL" not in describe_error(error)
    assert "_ssl.c" not in describe_error(error)


def test_other_errors_keep_their_message_or_the_first_one_down_the_chain() -> None:
    assert describe_error(ConnectionRefusedError(111, "Connection refused")) == (
        "ConnectionRefusedError: [Errno 111] Connection refused"
    )
    outer = httpx.ConnectError("")
    outer.__cause__ = OSError("no route to host")
    assert describe_error(outer) == "ConnectError: no route to host"
    assert describe_error(httpx.ReadTimeout("")) == "ReadTimeout: no details"
    assert describe_error(ValueError("a\nb   c" + "x" * 300), limit=20) == (
        "ValueError: a b cxxxxxxxxxxxxxx…"
    )
