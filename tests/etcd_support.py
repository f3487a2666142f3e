"""A real etcd-server on loopback for tests (#7): temporary data dir, free ports, health polled.

``EtcdServer`` can be stopped and started again on the same ports and data, to play an outage.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx
import trio

from hb_sim.ports import free_port

__all__ = ["ETCD_STARTUP_LIMIT", "EtcdServer", "etcd_binary"]

ETCD_STARTUP_LIMIT = 15.0


def etcd_binary() -> str:
    """The etcd-server binary; scripts/install-test-deps installs Debian's ``etcd-server``."""
    path = shutil.which("etcd")
    if path is None:
        raise RuntimeError("etcd not found: run scripts/install-test-deps (apt etcd-server)")
    return path


class EtcdServer:
    """One etcd member on 127.0.0.1 with its own data dir and log file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.client_port = free_port()
        self.peer_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    def log(self) -> str:
        return (self.directory / "etcd.log").read_text(errors="replace")

    def launch(self) -> None:
        """Start the process (returns at once; see ``wait_ready``)."""
        assert self.process is None or self.process.poll() is not None
        peer = f"http://127.0.0.1:{self.peer_port}"
        log_file = (self.directory / "etcd.log").open("ab")
        with log_file:
            self.process = subprocess.Popen(
                [
                    etcd_binary(),
                    "--name",
                    "test",
                    "--data-dir",
                    str(self.directory / "data"),
                    "--listen-client-urls",
                    self.url,
                    "--advertise-client-urls",
                    self.url,
                    "--listen-peer-urls",
                    peer,
                    "--initial-advertise-peer-urls",
                    peer,
                    "--initial-cluster",
                    f"test={peer}",
                    "--log-level",
                    "warn",
                ],
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )

    def _healthy(self, client: httpx.Client) -> bool:
        try:
            answer = client.get(f"{self.url}/health")
        except httpx.TransportError:
            return False
        return answer.status_code == 200 and answer.json().get("health") == "true"

    def wait_ready_blocking(self, *, within: float = ETCD_STARTUP_LIMIT) -> None:
        """Poll ``/health`` until etcd says true (for sync fixtures)."""
        deadline = time.monotonic() + within
        with httpx.Client(timeout=1.0) as client:
            while not self._healthy(client):
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(f"etcd exited:\n{self.log()}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"etcd not healthy within {within} s:\n{self.log()}")
                time.sleep(0.05)

    async def wait_ready(self, *, within: float = ETCD_STARTUP_LIMIT) -> None:
        """Poll ``/health`` until etcd says true, under trio."""
        async with httpx.AsyncClient(timeout=1.0) as client:
            with trio.fail_after(within):
                while True:
                    try:
                        answer = await client.get(f"{self.url}/health")
                        if answer.status_code == 200 and answer.json().get("health") == "true":
                            return
                    except httpx.TransportError:
                        pass
                    await trio.sleep(0.05)

    def stop(self) -> None:
        """Kill the process (an outage, or the end of a test)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
