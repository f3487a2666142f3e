"""``hb-sim watch`` in process: a tracker and the mock HSM over httpx.ASGITransport, on the
autojump clock."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import httpx
import pytest
import trio
import trio.testing
from click.testing import CliRunner
from rich.console import Console

from hb_agent import bound_for_items
from hb_sim.cli import main
from hb_sim.hsm import MockHsm, create_mock_hsm_app
from hb_sim.view import CellState, LiveView
from hb_sim.watch import Watcher, read_xnames_file, run_watch, tracker_api_url
from hbtd_server import Engine, HeartbeatFastPath, create_quart_app
from hbtd_server.core import DEFAULT_PARAMS
from tests.hostile_peer import hostile_peer

NODES = [f"x1000c0s{s}b{b}n{n}" for s in range(2) for b in range(2) for n in range(2)]
TRACKER = "http://hbtd"
HSM = "http://hsm"


class Switch(httpx.AsyncBaseTransport):
    """Passes requests on to an app, refuses them, or never answers, as the test says."""

    def __init__(self, app: Any) -> None:
        # Quart's precise ASGI types do not match httpx's loose ones; the app is valid ASGI.
        self.inner = httpx.ASGITransport(app=cast(Any, app))
        self.mode: Literal["up", "refuse", "hang"] = "up"
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.mode == "refuse":
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if self.mode == "hang":
            await trio.sleep_forever()
        return await self.inner.handle_async_request(request)


@dataclass
class System:
    hsm: MockHsm
    tracker: Switch
    hsm_link: Switch
    client: httpx.AsyncClient

    async def beat(self, *names: str) -> None:
        for name in names:
            answer = await self.client.post(
                f"{TRACKER}/hmi/v1/heartbeat/{name}",
                json={"Status": "OK", "TimeStamp": "2026-11-25T10:00:00.000000Z"},
            )
            assert answer.status_code == 200, answer.text

    def hbstates_batches(self) -> list[int]:
        return [
            len(httpx.Response(200, content=r.content).json()["XNames"])
            for r in self.tracker.requests
            if r.url.path.endswith("/hbstates")
        ]


@asynccontextmanager
async def system() -> AsyncIterator[System]:
    engine = Engine(DEFAULT_PARAMS, clock=trio.current_time)
    hsm = MockHsm(nodes=NODES)
    tracker = Switch(HeartbeatFastPath(engine, create_quart_app(engine)))
    hsm_link = Switch(create_mock_hsm_app(hsm))
    mounts: dict[str, httpx.AsyncBaseTransport] = {TRACKER: tracker, HSM: hsm_link}
    async with httpx.AsyncClient(mounts=mounts) as client:
        yield System(hsm, tracker, hsm_link, client)


async def test_counts_cells_and_flips_from_hsm_and_tracker(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with system() as sim:
        await sim.beat(*NODES[:3])
        watcher = Watcher(sim.client, target=TRACKER, hsm=HSM, batch=3)
        await watcher.poll()
        first = watcher.snapshot()
        assert first.title == "watch hbtd · HSM hsm"
        assert first.duration is None
        assert first.counts == {
            "Ready/OK": 0,
            "Ready/Warning": 0,
            "Standby/Alert": 0,
            "On/OK": 8,
            "heartbeating": 3,
            "not heartbeating": 5,
        }
        assert first.nodes == dict.fromkeys(NODES, CellState.ON)
        assert first.transitions == ()
        assert first.notice == ""
        # Bounded batches: 8 names, at most 3 per request, one request after the other.
        assert sim.hbstates_batches() == [3, 3, 2]
        assert [r.url.params["type"] for r in sim.hsm_link.requests] == ["Node"]

        sim.hsm.set_state([NODES[0]], "Ready", now=trio.current_time())
        await trio.sleep(31)  # past Errtime (30 s): the three stop heartbeating
        await watcher.poll()
        second = watcher.snapshot()
        assert second.time == 31
        assert second.counts["Ready/OK"] == 1
        assert second.counts["On/OK"] == 7
        assert second.counts["heartbeating"] == 0
        assert second.nodes[NODES[0]] is CellState.OK
        assert [(t.time, t.xname, t.before, t.after) for t in second.transitions] == [
            (31.0, NODES[0], "On/OK", "Ready/OK"),
            (31.0, NODES[0], "heartbeating", "not heartbeating"),
            (31.0, NODES[1], "heartbeating", "not heartbeating"),
            (31.0, NODES[2], "heartbeating", "not heartbeating"),
        ]


async def test_a_list_of_xnames_needs_only_the_tracker(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with system() as sim:
        await sim.beat(NODES[0])
        watcher = Watcher(sim.client, target=f"{TRACKER}/hmi/v1/", xnames=NODES[:2])
        before = watcher.snapshot()
        assert before.counts == {"heartbeating": 0, "not heartbeating": 0, "unknown": 2}
        assert set(before.nodes.values()) == {CellState.UNKNOWN}
        await watcher.poll()
        after = watcher.snapshot()
        assert after.title == "watch hbtd · xnames file"
        assert after.counts == {"heartbeating": 1, "not heartbeating": 1}
        assert after.nodes == {NODES[0]: CellState.OK, NODES[1]: CellState.ALERT}
        assert sim.hsm_link.requests == []
        assert watcher.counts_line() == "2 nodes: 1 heartbeating, 1 not heartbeating"


async def test_an_unreachable_tracker_is_one_line_and_the_watch_goes_on(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with system() as sim:
        await sim.beat(NODES[0])
        watcher = Watcher(sim.client, target=TRACKER, hsm=HSM)
        await watcher.poll()
        sim.tracker.mode = "refuse"
        await trio.sleep(5)
        await watcher.poll()
        assert watcher.problems == [
            "tracker http://hbtd/hmi/v1/hbstates: unreachable "
            "(ConnectError: [Errno 111] Connection refused)"
        ]
        stale = watcher.snapshot()
        assert stale.notice.endswith("(retrying; showing the state of 0:00:00)")
        assert "\n" not in stale.notice
        assert stale.counts["heartbeating"] == 1  # the last known state stays
        sim.tracker.mode = "up"
        await watcher.poll()
        assert watcher.snapshot().notice == ""


async def test_every_call_has_a_deadline(autojump_clock: trio.testing.MockClock) -> None:
    async with system() as sim:
        sim.hsm_link.mode = "hang"
        watcher = Watcher(sim.client, target=TRACKER, hsm=HSM, timeout=5)
        start = trio.current_time()
        await watcher.poll()
        assert trio.current_time() - start == 5.0
        assert watcher.snapshot().notice == (
            "HSM http://hsm/hsm/v2/State/Components: no answer within 5 s (retrying)"
        )


async def test_an_error_answer_is_reported_with_its_detail() -> None:
    async with system() as sim:
        sim.hsm.update_faults({"mode": "error", "error_status": 503})
        watcher = Watcher(sim.client, target=TRACKER, hsm=HSM)
        await watcher.poll()
        [problem] = watcher.problems
        assert problem.startswith("HSM http://hsm/hsm/v2/State/Components: answered 503 ")


async def test_run_watch_polls_on_its_interval(autojump_clock: trio.testing.MockClock) -> None:
    console = Console(
        width=100, height=30, color_system=None, force_terminal=True, file=io.StringIO()
    )
    lines: list[str] = []
    warnings: list[str] = []
    async with system() as sim:
        await sim.beat(*NODES[:2])
        watcher = Watcher(sim.client, target=TRACKER, xnames=NODES)
        with LiveView(console=console) as view:
            async with trio.open_nursery() as nursery:
                await nursery.start(
                    lambda task_status: run_watch(
                        watcher,
                        interval=2.0,
                        view=view,
                        echo=lines.append,
                        warn=warnings.append,
                        task_status=task_status,
                    )
                )
                assert view.snapshot is not None
                assert view.snapshot.counts["heartbeating"] == 2
                await trio.sleep(31)
                sim.tracker.mode = "refuse"
                await trio.sleep(4.5)  # off the poll times, so no tie decides the count
                nursery.cancel_scope.cancel()
    assert watcher.polls == 18  # at 0, 2, ..., 34
    assert lines == [
        "0:00:00 8 nodes: 2 heartbeating, 6 not heartbeating",
        f"0:00:30 {NODES[0]} heartbeating -> not heartbeating",
        f"0:00:30 {NODES[1]} heartbeating -> not heartbeating",
        "0:00:30 8 nodes: 0 heartbeating, 8 not heartbeating",
    ]
    # Two failed polls, one warning.
    assert len(warnings) == 1
    assert warnings[0].startswith("tracker http://hbtd/hmi/v1/hbstates: unreachable")


def test_xnames_files_and_target_urls() -> None:
    text = "# rack 1\nx1000c0s0b0n0\n\n  x1000c0s0b0n1  # spare\nx1000c0s0b0n0\n"
    assert read_xnames_file(text) == ["x1000c0s0b0n0", "x1000c0s0b0n1"]
    assert tracker_api_url("http://hbtd:28500") == "http://hbtd:28500/hmi/v1"
    assert tracker_api_url("http://hbtd:28500/") == "http://hbtd:28500/hmi/v1"
    assert tracker_api_url("https://gw/apis/hbtd/hmi/v1/") == "https://gw/apis/hbtd/hmi/v1"


async def test_watcher_options_are_checked() -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(ValueError, match="either"):
            Watcher(client, target=TRACKER)
        with pytest.raises(ValueError, match="either"):
            Watcher(client, target=TRACKER, hsm=HSM, xnames=NODES)
        with pytest.raises(ValueError, match="batch"):
            Watcher(client, target=TRACKER, hsm=HSM, batch=0)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ([], "exactly one of --hsm URL and --xnames FILE"),
        (["--hsm", HSM, "--xnames", "{file}"], "exactly one of"),
        (["--xnames", "{empty}"], "names no nodes"),
        (["--xnames", "{file}", "--batch", "0"], "--batch"),
        (["--hsm", "cray-smd:27779"], "not an http:// or https:// URL"),
        (["--hsm", "http://[bad"], "is not a URL"),
    ],
)
def test_bad_usage_exits_2(tmp_path: Path, arguments: list[str], message: str) -> None:
    names = tmp_path / "nodes.txt"
    names.write_text("x1000c0s0b0n0\n")
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    arguments = [a.format(file=names, empty=empty) for a in arguments]
    result = CliRunner().invoke(main, ["watch", "--target", TRACKER, *arguments])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("mode", ["endless", "2gb"])
async def test_answers_that_never_end_are_refused_at_their_bound(mode: str) -> None:
    async with hostile_peer(mode) as peer, httpx.AsyncClient() as client:
        watcher = Watcher(client, target=peer.url, xnames=NODES, timeout=20)
        with trio.fail_after(30):
            await watcher.poll()
        assert watcher.problems == [
            f"tracker {peer.url}/hmi/v1/hbstates: answered 200 with more than "
            f"{bound_for_items(len(NODES)):,} bytes"
        ]
        hsm_watcher = Watcher(client, target=peer.url, hsm=peer.url, timeout=60)
        with trio.fail_after(90):
            await hsm_watcher.poll()
        assert hsm_watcher.problems[0] == (
            f"HSM {peer.url}/hsm/v2/State/Components: answered 200 with more than "
            f"{bound_for_items(100_000):,} bytes"
        )
