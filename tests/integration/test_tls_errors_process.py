"""TLS mistakes say why, on both sides (#22).

A client that does not trust hbtd's certificate names the reason (it used to print
``ConnectError: `` and nothing after it), and plain HTTP sent to the TLS port is answered as Go's
net/http answers it. hbtd serves a certificate of a CA made here (trustme) that nobody trusts.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import trio

from hb_sim.ports import free_port
from tests.polling import until

from .test_tls_process import tls_hbtd

pytestmark = pytest.mark.integration

UNTRUSTED = "TLS: certificate verify failed: unable to get local issuer certificate"


def hb_sim() -> list[str]:
    return [sys.executable, "-c", "from hb_sim.cli import main; main()"]


async def test_hb_agent_send_names_the_certificate_problem(tmp_path: Path) -> None:
    async with tls_hbtd(tmp_path) as (port, _, _, _):
        command = [sys.executable, "-m", "hb_agent", "send", "--config", ""]
        command += ["--xname", "x1000c0s0b0n0", "--url", f"https://127.0.0.1:{port}"]
        done = await trio.run_process(
            command, capture_stdout=True, capture_stderr=True, check=False
        )
    assert done.returncode == 1
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert "heartbeat not sent: POST https://127.0.0.1:" in lines[0]
    assert lines[0].endswith(f"ConnectError: {UNTRUSTED}")


async def test_hb_sim_watch_names_the_certificate_problem(tmp_path: Path) -> None:
    names = tmp_path / "nodes.txt"
    names.write_text("x1000c0s0b0n0\n")
    errors = tmp_path / "watch.err"
    async with tls_hbtd(tmp_path) as (port, _, _, _):
        command = [*hb_sim(), "watch", "--target", f"https://127.0.0.1:{port}"]
        command += ["--xnames", str(names), "--interval", "0.5", "--no-live-view"]
        with errors.open("wb") as sink:
            watch = await trio.lowlevel.open_process(
                command, stdout=subprocess.DEVNULL, stderr=sink
            )
        try:
            await until(lambda: UNTRUSTED in errors.read_text(), within=30)
        finally:
            watch.send_signal(signal.SIGINT)
            with trio.fail_after(15):
                await watch.wait()
    assert watch.returncode == 0
    line = next(x for x in errors.read_text().splitlines() if UNTRUSTED in x)
    assert line == (
        f"hb-sim watch: tracker https://127.0.0.1:{port}/hmi/v1/hbstates: unreachable "
        f"(ConnectError: {UNTRUSTED}) (retrying)"
    )


async def test_hb_sim_watch_trusts_the_ca_it_is_given(tmp_path: Path) -> None:
    names = tmp_path / "nodes.txt"
    names.write_text("x1000c0s0b0n0\n")
    out, errors = tmp_path / "watch.out", tmp_path / "watch.err"
    async with tls_hbtd(tmp_path) as (port, trusted, _, _):
        async with httpx.AsyncClient(verify=trusted, timeout=5) as client:
            beat = {"Status": "OK", "TimeStamp": "2026-11-25T10:00:00+00:00"}
            url = f"https://127.0.0.1:{port}/hmi/v1/heartbeat/x1000c0s0b0n0"
            assert (await client.post(url, json=beat)).status_code == 200
        command = [*hb_sim(), "watch", "--target", f"https://127.0.0.1:{port}"]
        command += ["--xnames", str(names), "--no-live-view", "--ca-cert", str(tmp_path / "ca.pem")]
        with out.open("wb") as sink, errors.open("wb") as err_sink:
            watch = await trio.lowlevel.open_process(command, stdout=sink, stderr=err_sink)
        try:
            await until(lambda: "1 node: 1 heartbeating" in out.read_text(), within=30)
        finally:
            watch.send_signal(signal.SIGINT)
            with trio.fail_after(15):
                await watch.wait()
    assert watch.returncode == 0
    assert "unreachable" not in errors.read_text()


async def test_hb_sim_live_run_names_the_certificate_problem(tmp_path: Path) -> None:
    # The runner's own client meets the certificate at --hsm (a TLS server that is not a mock
    # HSM: the handshake is refused before anything is asked of it).
    scenario = Path(__file__).parents[2] / "scenarios" / "quick-death.yaml"
    async with tls_hbtd(tmp_path) as (port, _, _, _):
        command = [*hb_sim(), "run", str(scenario), "--clock", "live", "--no-live-view"]
        command += ["--target", f"http://127.0.0.1:{free_port()}"]
        command += ["--hsm", f"https://127.0.0.1:{port}"]
        done = await trio.run_process(
            command, capture_stdout=True, capture_stderr=True, check=False
        )
    assert done.returncode == 2
    assert done.stdout.decode().splitlines()[0] == (
        f"ERROR: quick-death: cannot run: GET https://127.0.0.1:{port}/mock/changes: "
        f"ConnectError: {UNTRUSTED}"
    )


async def test_hb_sim_live_run_refuses_an_https_target_and_says_why(tmp_path: Path) -> None:
    scenario = Path(__file__).parents[2] / "scenarios" / "quick-death.yaml"
    command = [*hb_sim(), "run", str(scenario), "--clock", "live", "--no-live-view"]
    command += ["--target", "https://hbtd.example:28500"]
    done = await trio.run_process(command, capture_stdout=True, capture_stderr=True, check=False)
    assert done.returncode == 2
    assert done.stdout.decode().splitlines()[0] == (
        "ERROR: quick-death: cannot run: --target https://hbtd.example:28500: the live fleet "
        "sends plain HTTP; give the tracker's http:// URL"
    )


async def test_hb_agent_run_names_the_certificate_problem(tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    async with tls_hbtd(tmp_path) as (port, _, _, _):
        command = [sys.executable, "-m", "hb_agent", "run", "--config", "", "--interval", "0.5"]
        command += ["--xname", "x1000c0s0b0n0", "--url", f"https://127.0.0.1:{port}"]
        with log.open("wb") as sink:
            agent = await trio.lowlevel.open_process(
                command, stdout=subprocess.DEVNULL, stderr=sink
            )
        try:
            await until(lambda: "heartbeat failed" in log.read_text(), within=30)
        finally:
            agent.send_signal(signal.SIGTERM)
            with trio.fail_after(15):
                await agent.wait()
    assert agent.returncode == 0
    line = next(x for x in log.read_text().splitlines() if "heartbeat failed" in x)
    assert line.endswith(
        f" WARNING hb_agent: heartbeat failed: POST https://127.0.0.1:{port}/hmi/v1/heartbeat/"
        f"x1000c0s0b0n0: ConnectError: {UNTRUSTED}; retrying with backoff"
    )


async def test_plain_http_to_the_tls_port_gets_gos_400(tmp_path: Path) -> None:
    async with tls_hbtd(tmp_path) as (port, _, _, _):
        for request in (
            b"GET /hmi/v1/liveness HTTP/1.1\r\nhost: x\r\n\r\n",
            b"POST /hmi/v1/heartbeat HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}",
        ):
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            # Split as a slow client would: the server must still see five bytes of header.
            await stream.send_all(request[:3])
            await trio.sleep(0.05)
            await stream.send_all(request[3:])
            answer = b""
            with trio.fail_after(10):
                while chunk := await stream.receive_some(65536):
                    answer += chunk
            await stream.aclose()
            assert answer == (
                b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
            )
