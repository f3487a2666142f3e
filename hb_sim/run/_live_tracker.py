"""The tracker of a live run: an ``hbtd`` process the runner starts, or a ``--target`` URL."""

from __future__ import annotations

import signal
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import httpx
import trio

from hbtd_server.cli import hbtd_command

from ..errors import HbSimError
from ..ports import free_port
from ._reads import call

__all__ = ["STARTUP_LIMIT", "TrackerProcess"]

#: How long a started ``hbtd`` may take to answer its liveness probe.
STARTUP_LIMIT: Final = 20.0


class TrackerProcess:
    """The tracker under test: its base URL, and how to (re)start it when it is ours."""

    def __init__(
        self, *, target: str | None, hsm_url: str, extra: Sequence[str], log_dir: str | None
    ) -> None:
        self.owned = target is None
        self.port = free_port() if target is None else (urlsplit(target).port or 80)
        self.host = "127.0.0.1" if target is None else (urlsplit(target).hostname or "127.0.0.1")
        self.base = f"http://{self.host}:{self.port}" if target is None else target.rstrip("/")
        self.hsm_url = hsm_url
        self.extra = tuple(extra)
        self.process: trio.Process | None = None
        folder = Path(log_dir) if log_dir else Path(tempfile.gettempdir())
        self.log = folder / ("tracker.log" if log_dir else f"hb-sim-hbtd-{self.port}.log")

    async def start(self, client: httpx.AsyncClient, params: dict[str, str]) -> None:
        if self.owned:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            with self.log.open("ab") as log:
                self.process = await trio.lowlevel.open_process(
                    [
                        *hbtd_command(port=self.port),
                        "--sm_url",
                        f"{self.hsm_url}/hsm/v2",
                        "--use_telemetry",
                        "false",
                        *self.extra,
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
        await self._wait_live(client)
        answer = await call(client, "PATCH", f"{self.base}/hmi/v1/params", json=params)
        if answer.status_code != 200:
            raise HbSimError(f"PATCH /params refused: {answer.status_code} {answer.text[:200]}")

    async def _wait_live(self, client: httpx.AsyncClient) -> None:
        with trio.fail_after(STARTUP_LIMIT):
            while True:
                try:
                    answer = await call(client, "GET", f"{self.base}/hmi/v1/liveness")
                    if answer.status_code == 204:
                        return
                except httpx.TransportError:
                    pass
                await trio.sleep(0.05)

    async def stop(self) -> None:
        process = self.process
        if process is None:
            return
        self.process = None
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        with trio.move_on_after(10):
            await process.wait()
        if process.returncode is None:
            process.kill()
            await process.wait()
