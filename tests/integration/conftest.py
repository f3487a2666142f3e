"""Real processes on loopback: start ``hbtd``, wait for it with a deadline, stop it cleanly."""

from __future__ import annotations

import resource
import signal
import subprocess
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import trio

from hb_sim.ports import free_port
from hbtd_server.cli import hbtd_command
from tests.etcd_support import EtcdServer
from tests.processes import kill

from .fleet_watch import INCONCLUSIVE
from .kafka_mock import TOPIC, MockKafkaCluster

STARTUP_LIMIT = 15.0  # generous: CI machines are loaded


@dataclass
class HbtdProcess:
    """A running ``hbtd`` and where to reach it."""

    process: trio.Process
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hmi/v1"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def terminate(self, *, within: float = 10.0) -> int:
        """SIGTERM, then wait; returns the exit code."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        with trio.fail_after(within):
            return await self.process.wait()


async def wait_until_live(url: str, *, within: float = STARTUP_LIMIT) -> float:
    """Poll ``{url}/liveness`` until it answers 204; return how long it took."""
    start = trio.current_time()
    async with httpx.AsyncClient(timeout=1.0) as client:
        with trio.fail_after(within):
            while True:
                try:
                    if (await client.get(f"{url}/liveness")).status_code == 204:
                        return trio.current_time() - start
                except httpx.TransportError:
                    pass
                await trio.sleep(0.05)


StartHbtd = Callable[..., AbstractAsyncContextManager[HbtdProcess]]


def _limit_open_files(count: int) -> Callable[[], None]:
    def limit() -> None:  # runs in the child, before exec
        resource.setrlimit(resource.RLIMIT_NOFILE, (count, count))

    return limit


@asynccontextmanager
async def launch_hbtd(
    log_dir: Path, port: int, *args: str, fd_limit: int | None = None
) -> AsyncIterator[HbtdProcess]:
    """A real ``hbtd`` on ``port`` (a restart may reuse it), live when entered, killed at exit.

    ``fd_limit`` caps its open files (soft and hard), like ``ulimit -n``.
    """
    log_path = log_dir / f"hbtd-{port}-{trio.current_time():.3f}.log"
    preexec = None if fd_limit is None else _limit_open_files(fd_limit)
    with log_path.open("wb") as log_file:
        process = await trio.lowlevel.open_process(
            [
                *hbtd_command(port=port),
                *args,
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=preexec,
        )
    hbtd = HbtdProcess(process, port, log_path)
    try:
        await wait_until_live(hbtd.url)
        yield hbtd
    finally:
        await kill(process)


@pytest.fixture
def start_hbtd(tmp_path: Path) -> StartHbtd:
    """``async with start_hbtd("--warntime", "2", ...) as hbtd:`` runs a real tracker.

    ``fd_limit=N`` caps its open files.
    """

    def start(*args: str, fd_limit: int | None = None) -> AbstractAsyncContextManager[HbtdProcess]:
        return launch_hbtd(tmp_path, free_port(), *args, fd_limit=fd_limit)

    return start


@pytest.fixture
def etcd_server(tmp_path: Path) -> Iterator[EtcdServer]:
    """A real etcd-server on loopback (#7), with its own data dir; killed at the end."""
    server = EtcdServer(tmp_path / "etcd")
    server.directory.mkdir()
    server.launch()
    try:
        server.wait_ready_blocking()
        yield server
    finally:
        server.stop()


@pytest.fixture
def kafka() -> Iterator[MockKafkaCluster]:
    """A mock Kafka cluster with ``TOPIC`` created."""
    with MockKafkaCluster() as cluster:
        cluster.create_topic(TOPIC)
        yield cluster


def nodes(count: int, first: int = 0) -> list[str]:
    """``count`` node xnames from the ``first``-th, 64 to a cabinet, one node per slot."""
    return [f"x{1000 + i // 64}c{i // 8 % 8}s{i % 8}b0n0" for i in range(first, first + count)]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Show why a live test was inconclusive (see ``fleet_watch``) in pytest's summary."""
    report = yield
    if INCONCLUSIVE and report.skipped and isinstance(report.longrepr, tuple):
        path, line, _ = item.location
        report.longrepr = (path, (line or 0) + 1, INCONCLUSIVE.pop())
    return report
