"""What an operator sees starting ``hbtd`` for real (#15): a quiet start, one-line failures."""

from __future__ import annotations

import signal
import socket
import subprocess
import time

import httpx
import pytest
import trio

from hb_sim.ports import free_port
from hbtd_server.cli import hbtd_command
from tests.processes import communicate_or_kill

from .conftest import StartHbtd

pytestmark = pytest.mark.integration


def levels(log: str) -> list[tuple[str, str]]:
    """(level, rest) of each log line."""
    found = []
    for line in log.splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4 and parts[2] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            found.append((parts[2], parts[3]))
    return found


async def test_a_default_start_warns_only_that_hsm_is_not_reachable(
    start_hbtd: StartHbtd,
) -> None:
    dead_hsm = f"http://127.0.0.1:{free_port()}/hsm/v2"
    async with start_hbtd("--sm_url", dead_hsm) as hbtd, httpx.AsyncClient() as client:
        with trio.fail_after(10):
            while True:
                if "HSM not reachable" in hbtd.log():
                    break
                await trio.sleep(0.05)
        health = (await client.get(f"{hbtd.url}/health")).json()
        code = await hbtd.terminate()
        log = hbtd.log()
    assert code == 0
    lines = levels(log)
    loud = [rest for level, rest in lines if level in ("WARNING", "ERROR", "CRITICAL")]
    assert len(loud) == 1, log
    assert loud[0].startswith(f"hbtd.hsm: HSM not reachable at {dead_hsm} (")
    assert sum("listening on" in rest for _, rest in lines) == 1
    assert not [rest for _, rest in lines if "Running on" in rest]
    assert sum("telemetry off: no telemetry host" in rest for _, rest in lines) == 1
    assert (health["MsgBusQueued"], health["MsgBusDetail"]) == (
        0,
        "telemetry off (Telemetry_host is not set)",
    )
    assert "Traceback" not in log


async def test_metrics_at_prometheus_default_path_too(start_hbtd: StartHbtd) -> None:
    async with start_hbtd("--nosm") as hbtd, httpx.AsyncClient() as client:
        base = hbtd.url.removesuffix("/hmi/v1")
        plain = await client.get(f"{base}/metrics")
        api = await client.get(f"{hbtd.url}/metrics")
    assert plain.status_code == api.status_code == 200
    assert plain.headers["content-type"] == api.headers["content-type"]
    assert "# HELP hbtd_detection_lateness_seconds" in plain.text


def run_hbtd(*args: str, within: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        hbtd_command(*args),
        capture_output=True,
        text=True,
        timeout=within,
        check=False,
    )


def test_a_busy_port_is_one_line_and_exit_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_hbtd("--port", str(port), "--nosm")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [error] = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert error.endswith(
        f"hbtd: cannot listen on 127.0.0.1:{port}: Address already in use; another process "
        f"has port {port}: stop it or choose another --port"
    )


def test_a_port_out_of_range_is_a_usage_error() -> None:
    result = run_hbtd("--port", "99999")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "'99999' is not a TCP port (0 to 65535)" in result.stderr


def test_an_sm_url_that_is_not_http_is_refused_at_start() -> None:
    result = run_hbtd("--sm_url", "cray-smd/hsm/v2")
    assert result.returncode == 2
    assert "--sm_url 'cray-smd/hsm/v2' is not a usable http:// or https:// URL" in result.stderr


def test_an_sm_url_httpx_cannot_parse_is_refused_at_start() -> None:
    result = run_hbtd("--sm_url", "http://hsm:abc/hsm/v2")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "is not a usable http:// or https:// URL: Invalid port" in result.stderr


def test_the_retired_hypercorn_server_is_refused_with_one_line_and_exit_2() -> None:
    result = run_hbtd("--http-server", "hypercorn", "--nosm")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "hbtd: --http-server hypercorn is not available: the lean HTTP server is hbtd's one "
        "server (hypercorn was retired); remove the flag"
    ]
    assert result.stdout == ""


def test_an_invalid_telemetry_host_is_refused_at_start() -> None:
    result = run_hbtd("--telemetry_host", "kafka:notaport:topic")
    assert result.returncode == 2
    assert "--telemetry_host 'kafka:notaport:topic' is not host:port:topic" in result.stderr


async def test_ctrl_c_stops_cleanly_with_exit_0(start_hbtd: StartHbtd) -> None:
    async with start_hbtd("--nosm") as hbtd:
        hbtd.process.send_signal(signal.SIGINT)
        with trio.fail_after(10):
            code = await hbtd.process.wait()
        log = hbtd.log()
    assert code == 0
    assert "received SIGINT: shutting down" in log
    assert "Traceback" not in log


@pytest.mark.parametrize("delay", [0.2, 0.5, 1.0])
def test_ctrl_c_while_starting_is_one_line(delay: float) -> None:
    # Loading the web stack takes a moment; Ctrl-C then must not print a traceback.
    process = subprocess.Popen(
        hbtd_command("--nosm", port=0),
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, stderr = communicate_or_kill(process, timeout=30)
    assert "Traceback" not in stderr
    # 130 while loading, 0 once serving (a clean shutdown), -2 if it came before Python's own
    # handler was installed: never a traceback and exit 1.
    assert process.returncode in (130, 0, -signal.SIGINT), stderr
    if process.returncode == 130:
        last = stderr.strip().splitlines()[-1]
        assert last == "hbtd: interrupted while starting" or last.endswith(
            "INFO hbtd: interrupted before the service was up"
        ), stderr


def test_a_host_that_is_not_this_machine_is_one_line_and_exit_1() -> None:
    result = subprocess.run(
        hbtd_command("--nosm", host="192.0.2.1", port=0),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [error] = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert error.endswith("192.0.2.1 is not an address of this machine: check --host")
