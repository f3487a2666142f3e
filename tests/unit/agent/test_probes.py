"""Probes on the real clock: real processes, real time-outs (kept short)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import trio
import trio.testing

from hb_agent._probes import (
    CommandProbe,
    DiskProbe,
    MemoryProbe,
    Probe,
    ProbeBoard,
    _Prober,
    kernel_oopsed,
)

from .conftest import make_tree


async def check(probe: Probe, root: Path = Path("/")) -> str | None:
    return await _Prober(probe, ProbeBoard([probe]), root).check()


def py(code: str) -> tuple[str, ...]:
    return (sys.executable, "-c", code)


async def test_command_success_is_healthy() -> None:
    assert await check(CommandProbe(name="ok", argv=("true",))) is None


async def test_command_failure_uses_its_first_output_line() -> None:
    probe = CommandProbe(name="lustre", argv=py("print('Lustre down\\nmore'); exit(3)"))
    assert await check(probe) == "Lustre down"


async def test_command_failure_prefers_the_configured_status() -> None:
    probe = CommandProbe(name="lustre", argv=("false",), status="Lustre Down")
    assert await check(probe) == "Lustre Down"


async def test_silent_failure_names_the_probe() -> None:
    assert await check(CommandProbe(name="gpu", argv=("false",))) == "gpu failed"


async def test_missing_command_is_a_failure() -> None:
    probe = CommandProbe(name="gone", argv=("/nonexistent/check",))
    assert await check(probe) == "gone failed"


async def test_huge_output_is_capped() -> None:
    probe = CommandProbe(name="chatty", argv=py("print('x' * 10_000_000); exit(1)"), timeout=20)
    assert await check(probe) == "x" * 200


async def test_hanging_command_is_killed_with_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    # The child keeps the output pipe open after its parent is gone: only killing the whole
    # process group ends the probe.
    script = f"sleep 1000 & echo $! > {pid_file}; wait"
    probe = CommandProbe(name="hang", argv=("sh", "-c", script), timeout=0.5)
    started = trio.current_time()
    assert await check(probe) == "hang timed out"
    assert trio.current_time() - started < 5
    child = int(pid_file.read_text())
    with trio.fail_after(5):
        while True:
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                break
            # The child is killed; until its parent (init) reaps it, it may linger a moment.
            try:
                state = (await trio.Path(f"/proc/{child}/stat").read_text()).split()[2]
            except FileNotFoundError:
                break
            if state == "Z":
                break
            await trio.sleep(0.02)


async def test_hanging_command_with_status_reports_it() -> None:
    probe = CommandProbe(name="hang", argv=("sleep", "1000"), timeout=0.2, status="Hung Check")
    assert await check(probe) == "Hung Check"


async def test_memory_probe_reads_meminfo(tmp_path: Path) -> None:
    root = make_tree(tmp_path, meminfo="MemTotal: 100 kB\nMemAvailable: 1024 kB\n")
    assert await check(MemoryProbe(name="m", min_bytes=1 << 20), root) is None
    low = await check(MemoryProbe(name="m", min_bytes=2 << 20), root)
    assert low == "Low memory: 1 MiB available"
    custom = await check(MemoryProbe(name="m", min_bytes=2 << 20, status="Low Mem"), root)
    assert custom == "Low Mem"


async def test_memory_probe_without_meminfo_is_healthy(tmp_path: Path) -> None:
    assert await check(MemoryProbe(name="m", min_bytes=1 << 40), tmp_path) is None


async def test_disk_probe(tmp_path: Path) -> None:
    assert await check(DiskProbe(name="d", path=str(tmp_path), min_bytes=1)) is None
    full = await check(DiskProbe(name="d", path=str(tmp_path), min_bytes=1 << 62))
    assert full is not None
    assert full.startswith("Low disk: ")
    assert full.endswith(f"free on {tmp_path}")
    gone = await check(DiskProbe(name="d", path=str(tmp_path / "nope"), min_bytes=1))
    assert gone == "d: No such file or directory"


def test_board_reports_the_first_failure_in_order(caplog: pytest.LogCaptureFixture) -> None:
    probes = [CommandProbe(name=name, argv=("true",)) for name in ("a", "b")]
    board = ProbeBoard(probes)
    assert board.failure() is None
    board.record("b", "B bad")
    board.record("a", "A bad")
    assert board.failure() == "A bad"
    board.record("a", None)
    assert board.failure() == "B bad"
    assert [r.getMessage() for r in caplog.records] == [
        "probe b failed: Status is now 'B bad'",
        "probe a failed: Status is now 'A bad'",
        "probe a is healthy again",
    ]


@pytest.mark.parametrize(
    ("text", "oopsed"),
    [("0\n", False), ("128\n", True), ("4224", True), ("4096", False), ("junk", False)],
)
def test_kernel_oopsed(tmp_path: Path, text: str, oopsed: bool) -> None:
    assert kernel_oopsed(make_tree(tmp_path, tainted=text)) is oopsed


def test_kernel_oopsed_without_the_file(tmp_path: Path) -> None:
    assert kernel_oopsed(tmp_path) is False


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"name": ""}, "needs a name"),
        ({"timeout": 0.0}, "timeout"),
        ({"every": float("nan")}, "every"),
        ({"argv": ()}, "command is empty"),
    ],
)
def test_probe_options_are_checked(options: dict[str, object], error: str) -> None:
    arguments: dict[str, object] = {"name": "p", "argv": ("true",), **options}
    with pytest.raises(ValueError, match=error):
        CommandProbe(**arguments)  # type: ignore[arg-type]


async def test_a_crashing_probe_reports_failure_and_keeps_running(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    probe = MemoryProbe(name="m", min_bytes=1, every=10.0, status="Probe Broken")
    board = ProbeBoard([probe])
    prober = _Prober(probe, board, Path("/"))
    calls: list[float] = []

    async def broken() -> str | None:
        calls.append(trio.current_time())
        raise RuntimeError("bug")

    prober.check = broken  # type: ignore[method-assign]
    with trio.move_on_after(25):
        await prober.run()
    assert calls == [0.0, 10.0, 20.0]
    assert board.failure() == "Probe Broken"
    assert len([r for r in caplog.records if r.exc_info]) == 1
