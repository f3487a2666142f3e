"""hypothesis throws raw requests and parameter PATCHes at a running ``hbtd`` (#21).

Whatever arrives (malformed request lines, odd versions, repeated or invalid Host headers,
Upgrade, Expect, broken chunked bodies, binary garbage, PATCH /params with any keys and
values), the tracker stays up, ``/liveness`` answers after every example, no answer is a 500,
and its log holds no traceback. The HSM poller runs (no ``--nosm``) at Interval 1, so a
parameter it could not use would show within the run.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hb_sim.ports import free_port
from hbtd_server.cli import hbtd_command
from hbtd_server.core import PARAM_NAMES

from .conftest import STARTUP_LIMIT

pytestmark = pytest.mark.integration


class Tracker:
    """A running ``hbtd`` for the whole module."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
        self.process = process
        self.port = port
        self.log_path = log_path

    def exchange(self, data: bytes) -> bytes:
        """Send ``data``, half-close, and read what comes back until the server closes."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            try:
                sock.sendall(data)
                sock.shutdown(socket.SHUT_WR)
                answer = b""
                while chunk := sock.recv(65536):
                    answer += chunk
            except ConnectionResetError:
                return b""  # the server refused and closed before reading everything
        return answer

    def assert_alive(self) -> None:
        assert self.process.poll() is None, "hbtd exited"
        answer = self.exchange(b"GET /hmi/v1/liveness HTTP/1.1\r\nhost: hbtd\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 204 "), answer[:200]


@pytest.fixture(scope="module")
def tracker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tracker]:
    port = free_port()
    log_path: Path = tmp_path_factory.mktemp("fuzz") / "hbtd.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [*hbtd_command(port=port), "--interval", "1", "--head-timeout", "2"],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    running = Tracker(process, port, log_path)
    try:
        deadline = time.monotonic() + STARTUP_LIMIT
        while True:
            try:
                running.assert_alive()
                break
            except (OSError, AssertionError):
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.05)
        yield running
        time.sleep(2)  # a poll or two with whatever parameters the fuzzing left
        running.assert_alive()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    log = log_path.read_text(errors="replace")
    assert "Traceback" not in log, log
    assert "bug:" not in log, log


PATHS = [
    b"/hmi/v1/liveness",
    b"/hmi/v1/heartbeat",
    b"/hmi/v1/heartbeat/x0c0s0b0n0",
    b"/hmi/v1/hbstates",
    b"/hmi/v1/hbstate/x0c0s0b0n0",
    b"/hmi/v1/params",
    b"/hmi/v1/health",
    b"/hmi//v1/params",
    b"*",
    b"http://h/hmi/v1/liveness",
]
HEADER_VALUES = {
    b"host": [b"hbtd", b"", b"a b", b"[::1]:1", b"x/y"],
    b"content-length": [b"0", b"5", b"-1", b"99999999999999999999", b"1, 1", b"abc"],
    b"transfer-encoding": [b"chunked", b"gzip, chunked", b"identity", b"chunked, chunked"],
    b"connection": [b"close", b"keep-alive", b"Upgrade", b"upgrade, close"],
    b"upgrade": [b"websocket", b"h2c", b"HTTP/2.0"],
    b"expect": [b"100-continue", b"200-ok"],
    b"content-type": [b"application/json", b"text/plain"],
    b"authorization": [b"Bearer x", b"Basic eA=="],
}
BODIES = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [
            b'{"Status":"OK","TimeStamp":"2026-11-25T10:00:00+00:00"}',
            b'{"XNames":["x0c0s0b0n0"]}',
            b"5\r\nhello\r\n0\r\n\r\n",
            b"ffffffffffffffffff\r\n",
            b"1\r\nx\r\n" * 50 + b"0\r\n\r\n",
        ]
    ),
)


@st.composite
def raw_requests(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(min_size=1, max_size=400))  # anything at all
    method = draw(
        st.sampled_from([b"GET", b"POST", b"PATCH", b"HEAD", b"CONNECT", b"PRI", b"G\x00T"])
    )
    target = draw(st.one_of(st.sampled_from(PATHS), st.binary(max_size=40).map(lambda b: b"/" + b)))
    version = draw(st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/0.9", b"HTTP/9"]))
    names = draw(st.lists(st.sampled_from(sorted(HEADER_VALUES)), max_size=6))
    headers = b"".join(
        name
        + b": "
        + draw(st.one_of(st.sampled_from(HEADER_VALUES[name]), st.binary(max_size=20)))
        + b"\r\n"
        for name in names
    )
    body = draw(BODIES)
    request = method + b" " + target + b" " + version + b"\r\n" + headers + b"\r\n" + body
    return request * draw(st.integers(1, 3))  # pipelined, now and then


@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(request=raw_requests())
def test_raw_requests_never_take_hbtd_down(tracker: Tracker, request: bytes) -> None:
    answer = tracker.exchange(request)
    assert b" 500 " not in answer.split(b"\r\n", 1)[0]
    tracker.assert_alive()


PARAM_VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "http://h:abc/x",
            "http://[::1",
            "http://[zz]/x",
            "http://h/x\r\nX: y",
            "https://u:p@[fd00::1]:8443/hsm/v2",
            "http://127.0.0.1:1/hsm/v2",
            "kafka:9092:topic",
            "a,b:1:t",
            "0",
            "1",
            "4294967296",
            "-1",
            "1e3",
        ]
    ),
    st.integers(-5, 5),
    st.none(),
    st.booleans(),
)
KEYS = st.one_of(
    st.sampled_from(PARAM_NAMES).map(lambda k: k.lower() if len(k) % 2 else k),
    st.text(max_size=10),
)


URL_KEYS = st.sampled_from(["Sm_url", "sm_url", "Telemetry_host"])


@settings(max_examples=80, derandomize=True, deadline=None)
@example(body={"Sm_url": "http://h:abc/x"})  # the PATCH that ended hbtd before #21
@example(body={"sm_url": "http://[::1"})
@given(
    body=st.one_of(
        st.dictionaries(KEYS, PARAM_VALUES, max_size=4),
        st.dictionaries(URL_KEYS, PARAM_VALUES, min_size=1, max_size=1),
    )
)
def test_parameter_patches_never_take_hbtd_down(tracker: Tracker, body: dict[str, object]) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{tracker.port}/hmi/v1", timeout=5) as client:
        response = client.patch("/params", content=json.dumps(body))
        assert response.status_code in (200, 400), response.text
        if response.status_code == 200:
            time.sleep(0.2)  # the HSM poller and telemetry follow a change at once
    # Whatever was taken, HSM's readiness poller and the others live with it.
    tracker.assert_alive()
