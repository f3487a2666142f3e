"""HTTPS with a certificate made in the test (trustme), over a loopback socket (#8)."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
import trio
import trustme

from hb_sim.ports import free_port
from hbtd_server.cli import hbtd_command
from tests.processes import kill

from .conftest import HTTP_SERVERS, STARTUP_LIMIT

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("http_server", HTTP_SERVERS)
async def test_serves_https_only_with_the_given_certificate(
    tmp_path: Path, http_server: str
) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    trusted = ssl.create_default_context()
    ca.configure_trust(trusted)
    port = free_port()
    log_path = tmp_path / "hbtd.log"
    with log_path.open("wb") as log_file:
        process = await trio.lowlevel.open_process(
            [
                *hbtd_command(port=port),
                "--nosm",
                "--certfile",
                str(certfile),
                "--keyfile",
                str(keyfile),
                "--http-server",
                http_server,
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    url = f"https://127.0.0.1:{port}/hmi/v1"
    try:
        async with httpx.AsyncClient(verify=trusted, timeout=2) as client:
            with trio.fail_after(STARTUP_LIMIT):
                while True:
                    try:
                        if (await client.get(f"{url}/liveness")).status_code == 204:
                            break
                    except httpx.TransportError:
                        await trio.sleep(0.05)
            beat = {"Status": "OK", "TimeStamp": "2026-11-25T10:00:00+00:00"}
            assert (await client.post(f"{url}/heartbeat/x0c0s0b0n0", json=beat)).status_code == 200
            state = (await client.get(f"{url}/hbstate/x0c0s0b0n0")).json()
            assert state == {"XName": "x0c0s0b0n0", "Heartbeating": True}
        # A client that does not trust the CA is refused the handshake...
        async with httpx.AsyncClient(timeout=2) as untrusting:
            with pytest.raises(httpx.ConnectError):
                await untrusting.get(f"{url}/liveness")
        # ...and plain HTTP gets no answer from the TLS port.
        async with httpx.AsyncClient(timeout=2) as plain:
            with pytest.raises(httpx.TransportError):
                await plain.get(f"http://127.0.0.1:{port}/hmi/v1/liveness")
    finally:
        if process.returncode is None:
            process.terminate()
            with trio.CancelScope(shield=True), trio.move_on_after(10):
                await process.wait()
            await kill(process)
    assert process.returncode == 0
    assert f"https://127.0.0.1:{port}" in log_path.read_text()
