"""HTTPS with a certificate made in the test (trustme), over a loopback socket (#8)."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import trio
import trustme

from hb_sim.ports import free_port
from hbtd_server.cli import hbtd_command
from tests.processes import kill

from .conftest import STARTUP_LIMIT

pytestmark = pytest.mark.integration


@asynccontextmanager
async def tls_hbtd(
    tmp_path: Path, *args: str
) -> AsyncIterator[tuple[int, ssl.SSLContext, Path, trio.Process]]:
    """hbtd serving HTTPS with a certificate of a CA made here (written to ``ca.pem``); yields
    its port, a client context that trusts the CA, its log file, and the process (stopped with
    SIGTERM after)."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    trusted = ssl.create_default_context()
    ca.configure_trust(trusted)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))  # for clients that take a file
    port = free_port()
    log_path = tmp_path / "hbtd.log"
    command = [*hbtd_command(port=port), "--nosm", "--certfile", str(certfile)]
    command += ["--keyfile", str(keyfile), *args]
    with log_path.open("wb") as log_file:
        process = await trio.lowlevel.open_process(
            command, stdout=log_file, stderr=subprocess.STDOUT
        )
    try:
        async with httpx.AsyncClient(verify=trusted, timeout=2) as client:
            with trio.fail_after(STARTUP_LIMIT):
                while True:
                    try:
                        url = f"https://127.0.0.1:{port}/hmi/v1/liveness"
                        if (await client.get(url)).status_code == 204:
                            break
                    except httpx.TransportError:
                        await trio.sleep(0.05)
        yield port, trusted, log_path, process
    finally:
        if process.returncode is None:
            process.terminate()
            with trio.CancelScope(shield=True), trio.move_on_after(10):
                await process.wait()
            await kill(process)


async def test_serves_https_only_with_the_given_certificate(tmp_path: Path) -> None:
    async with tls_hbtd(tmp_path) as (port, trusted, log, process):
        url = f"https://127.0.0.1:{port}/hmi/v1"
        async with httpx.AsyncClient(verify=trusted, timeout=2) as client:
            beat = {"Status": "OK", "TimeStamp": "2026-11-25T10:00:00+00:00"}
            assert (await client.post(f"{url}/heartbeat/x0c0s0b0n0", json=beat)).status_code == 200
            state = (await client.get(f"{url}/hbstate/x0c0s0b0n0")).json()
            assert state == {"XName": "x0c0s0b0n0", "Heartbeating": True}
        # A client that does not trust the CA is refused the handshake...
        async with httpx.AsyncClient(timeout=2) as untrusting:
            with pytest.raises(httpx.ConnectError):
                await untrusting.get(f"{url}/liveness")
        # ...and plain HTTP is not served: the lean server answers as Go's net/http does
        # (test_tls_errors_process.py has the bytes), hypercorn closes without a word.
        async with httpx.AsyncClient(timeout=2) as plain:
            try:
                answer = await plain.get(f"http://127.0.0.1:{port}/hmi/v1/liveness")
            except httpx.TransportError:
                answer = None
            assert answer is None or answer.status_code == 400
        process.terminate()
        with trio.fail_after(10):
            await process.wait()
    assert process.returncode == 0
    assert f"https://127.0.0.1:{port}" in log.read_text()


#: The first bytes of a TLS ClientHello: a record header and the start of the handshake.
PARTIAL_CLIENT_HELLO = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"


async def test_a_stalled_tls_handshake_is_closed_at_the_head_timeout(tmp_path: Path) -> None:
    # The lean server bounds the handshake by the head timeout: a client that connects and says
    # nothing, or stops in the middle of its ClientHello, must not hold a connection for ever.
    async with tls_hbtd(tmp_path, "--head-timeout", "2") as (port, trusted, _, _):
        silent = await trio.open_tcp_stream("127.0.0.1", port)
        halfway = await trio.open_tcp_stream("127.0.0.1", port)
        await halfway.send_all(PARTIAL_CLIENT_HELLO)
        began = trio.current_time()
        for stream in (silent, halfway):
            with trio.fail_after(15):  # 2 s, plus a loaded machine's slack
                try:
                    while await stream.receive_some(65536):
                        pass
                except trio.BrokenResourceError:
                    pass  # a reset is a close too
            await stream.aclose()
        assert trio.current_time() - began >= 1.5  # closed by the timeout, not at once
        async with httpx.AsyncClient(verify=trusted, timeout=5) as client:
            assert (
                await client.get(f"https://127.0.0.1:{port}/hmi/v1/liveness")
            ).status_code == 204
