"""The tracker of a live run: an ``hbtd`` process the runner starts, or a ``--target`` URL.

A ``--target`` is someone's tracker (a staging one, say): the parameters the run sets on it
(Warntime, Errtime, Interval, Sm_url...) are read before the first ``PATCH /params`` and set
back by :meth:`TrackerProcess.restore` when the run ends, however it ends, unless kept on
purpose. ``GET /params`` shows a password in a URL as ``***``; the tracker keeps its secret
when that is sent back, so Sm_url is restored whole.
"""

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
from hbtd_server.core import describe_error, tls_failure

from ..errors import HbSimError
from ..ports import free_port
from ._reads import call

__all__ = ["RESTORE_LIMIT", "STARTUP_LIMIT", "TrackerProcess"]

#: How long a started ``hbtd`` may take to answer its liveness probe.
STARTUP_LIMIT: Final = 20.0
#: How long setting a target's parameters back may take at the end.
RESTORE_LIMIT: Final = 10.0


class TrackerProcess:
    """The tracker under test: its base URL, and how to (re)start it when it is ours."""

    def __init__(
        self,
        *,
        target: str | None,
        hsm_url: str,
        extra: Sequence[str],
        log_dir: str | None,
        ports: range | None = None,
    ) -> None:
        self.owned = target is None
        self.port = free_port(within=ports) if target is None else (urlsplit(target).port or 80)
        self.host = "127.0.0.1" if target is None else (urlsplit(target).hostname or "127.0.0.1")
        self.base = f"http://{self.host}:{self.port}" if target is None else target.rstrip("/")
        self.hsm_url = hsm_url
        self.extra = tuple(extra)
        self.process: trio.Process | None = None
        folder = Path(log_dir) if log_dir else Path(tempfile.gettempdir())
        self.log = folder / ("tracker.log" if log_dir else f"hb-sim-hbtd-{self.port}.log")
        #: A target's parameters before the run changed any (``GET /params``), or None.
        self.original: dict[str, str] | None = None
        #: The parameters this run has set, in the order first set.
        self.changed: dict[str, None] = {}

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
        await self.patch(client, params)

    async def patch(self, client: httpx.AsyncClient, params: dict[str, str]) -> None:
        """``PATCH /params``, remembering a target's values from before the first change.

        Raises:
            HbSimError: the tracker refused the parameters, or its ``/params`` is unreadable.
        """
        url = f"{self.base}/hmi/v1/params"
        if not self.owned and self.original is None:
            answer = await call(client, "GET", url)
            document = answer.json() if answer.status_code == 200 else None
            if not isinstance(document, dict):
                raise HbSimError(f"GET {url} answered {answer.status_code}: {answer.text[:200]}")
            self.original = {str(k): str(v) for k, v in document.items()}
        answer = await call(client, "PATCH", url, json=params)
        if answer.status_code != 200:
            raise HbSimError(f"PATCH /params refused: {answer.status_code} {answer.text[:200]}")
        self.changed.update(dict.fromkeys(params))

    async def restore(self, client: httpx.AsyncClient, *, keep: bool) -> str | None:
        """Set a target's changed parameters back to what they were (module docstring).

        Args:
            client: the run's HTTP client.
            keep: leave them as the run set them (and say so).

        Returns:
            One line that says what was done, or None when there was nothing to do (the
            tracker is the runner's own, or nothing was changed). Never raises.
        """
        original = self.original
        if self.owned or original is None:
            return None
        spelled = {name.lower(): name for name in original}  # PATCH keys are case-blind
        names = [spelled[n.lower()] for n in self.changed if n.lower() in spelled]
        if not names:
            return None
        if keep:
            return f"kept the scenario's {', '.join(names)} on {self.base} (--keep-params)"
        url = f"{self.base}/hmi/v1/params"
        why = f"no answer within {RESTORE_LIMIT:g} s"
        with trio.move_on_after(RESTORE_LIMIT):
            try:
                answer = await call(client, "PATCH", url, json={n: original[n] for n in names})
            except httpx.HTTPError as exc:
                why = describe_error(exc)
            except HbSimError as exc:
                why = str(exc)
            else:
                if answer.status_code == 200:
                    self.changed.clear()
                    return (
                        f"restored {', '.join(names)} on {self.base} to their values before the run"
                    )
                why = f"answered {answer.status_code}: {answer.text[:200]}"
        values = ", ".join(f"{n}={original[n]}" for n in names)
        return f"could not restore {self.base}'s parameters ({why}); they were {values}"

    async def _wait_live(self, client: httpx.AsyncClient) -> None:
        url = f"{self.base}/hmi/v1/liveness"
        why = "no answer"
        with trio.move_on_after(STARTUP_LIMIT):
            while True:
                try:
                    answer = await call(client, "GET", url)
                    if answer.status_code == 204:
                        return
                    why = f"answered {answer.status_code}"
                except httpx.TransportError as exc:
                    why = describe_error(exc)
                    if tls_failure(exc) is not None:
                        break  # waiting will not change a certificate
                await trio.sleep(0.05)
        raise HbSimError(f"tracker {url} is not live: {why}")

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
