"""HSM is not ours alone: a real ``hbtd`` against the served mock HSM, with another writer.

The other writer is what power events, discovery and operators are on a real system: StateData
PATCHes to HSM, with ``Force`` where they need it. Every wait polls with a deadline.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import httpx
import trio

from hb_sim.hsm import MockHsm, serve_mock_hsm
from hb_sim.ports import free_port
from tests.polling import until

from .conftest import HbtdProcess, launch_hbtd

LIVE, DEAD, LATE = "x1000c0s0b0n0", "x1000c0s1b0n0", "x1000c0s2b0n0"


def shows(hsm: MockHsm, xname: str) -> tuple[str, str]:
    component = hsm.component(xname)
    return component.state, component.flag


async def other_writer(base: str, xname: str, state: str, flag: str = "OK") -> None:
    """Another writer of HSM (an operator, a power event): a forced StateData PATCH."""
    async with httpx.AsyncClient(timeout=5) as client:
        url = f"{base}/State/Components/{xname}/StateData"
        response = await client.patch(url, json={"State": state, "Flag": flag, "Force": True})
        assert response.status_code == 204


@asynccontextmanager
async def tracker_and_hsm(
    tmp_path: Path, hsm: MockHsm, *args: str
) -> AsyncIterator[tuple[HbtdProcess, str, httpx.AsyncClient, trio.Nursery]]:
    async with trio.open_nursery() as nursery:
        [root] = await nursery.start(partial(serve_mock_hsm, hsm, port=0, clock=trio.current_time))
        base = f"{root}/hsm/v2"
        # No silence guard: these few nodes fall silent on purpose.
        tracker_args = [
            "--sm_url",
            base,
            "--guard_share",
            "0",
            "--warntime",
            "2",
            "--errtime",
            "4",
            "--interval",
            "1",
        ]
        async with (
            launch_hbtd(tmp_path, free_port(), *tracker_args, *args) as hbtd,
            httpx.AsyncClient(base_url=hbtd.url, timeout=5) as client,
        ):
            yield hbtd, base, client, nursery
        nursery.cancel_scope.cancel()


async def beat(client: httpx.AsyncClient, xname: str, status: str = "OK") -> None:
    response = await client.post(
        f"/heartbeat/{xname}", json={"Status": status, "TimeStamp": "2026-12-05T10:00:00Z"}
    )
    assert response.status_code == 200


async def keep_beating(client: httpx.AsyncClient, *xnames: str) -> None:
    while True:
        for xname in xnames:
            await beat(client, xname)
        await trio.sleep(0.5)


async def test_a_reboot_with_a_power_cycle_is_ready_ok_within_3_s_of_the_first_beat(
    tmp_path: Path,
) -> None:
    hsm = MockHsm(nodes=[LIVE])
    # Reconciliation off: the edge alone must do it.
    async with tracker_and_hsm(tmp_path, hsm, "--reconcile_interval", "0") as (_, base, client, _):
        await beat(client, LIVE)
        await until(lambda: shows(hsm, LIVE) == ("Ready", "OK"), within=5)
        await beat(client, LIVE, "Shutdown")
        await other_writer(base, LIVE, "Off")  # Redfish: power off
        await other_writer(base, LIVE, "On")  # Redfish: power on
        assert shows(hsm, LIVE) == ("On", "OK")
        await beat(client, LIVE)  # booted
        first = trio.current_time()
        await until(lambda: shows(hsm, LIVE) == ("Ready", "OK"), within=3)
        assert trio.current_time() - first < 3


async def test_reconciliation_puts_back_what_hbtd_owns_and_leaves_the_rest(
    tmp_path: Path,
) -> None:
    hsm = MockHsm(nodes=[LIVE, DEAD, LATE])
    hsm.set_state([LATE], "Populated", force=True, now=0.0)  # not discovered yet
    args = ("--reconcile_interval", "4")
    async with tracker_and_hsm(tmp_path, hsm, *args) as (hbtd, base, client, nursery):

        async def rounds() -> int:
            health = (await client.get("/health")).json()
            count: int = health["HsmReconcile"]["Rounds"]
            return count

        beating = trio.CancelScope()

        async def beating_nodes() -> None:
            with beating:
                await keep_beating(client, LIVE, LATE)

        nursery.start_soon(beating_nodes)
        await beat(client, DEAD)  # once: then silent, declared dead after Errtime
        await until(lambda: shows(hsm, DEAD) == ("Standby", "Alert"), within=10)
        await until(lambda: shows(hsm, LIVE) == ("Ready", "OK"), within=5)
        assert shows(hsm, LATE) == ("Populated", "OK")  # HSM skipped its Ready/OK (a 204)

        # An operator sets a heartbeating node Standby/Alert: back to Ready/OK within 7 s.
        await other_writer(base, LIVE, "Standby", "Alert")
        changed = trio.current_time()
        await until(lambda: shows(hsm, LIVE) == ("Ready", "OK"), within=7)
        assert trio.current_time() - changed < 7

        # Discovery makes the skipped node On: the next round makes it Ready/OK.
        await other_writer(base, LATE, "On")
        await until(lambda: shows(hsm, LATE) == ("Ready", "OK"), within=4 + 3)

        # HSM's power polling sets the dead node Off: it stays Off over three periods.
        await other_writer(base, DEAD, "Off")
        start = await rounds()
        with trio.fail_after(3 * 4 + 8):
            while await rounds() < start + 3:
                assert shows(hsm, DEAD) == ("Off", "OK")
                await trio.sleep(0.1)
        assert shows(hsm, DEAD) == ("Off", "OK")
        health = (await client.get("/health")).json()["HsmReconcile"]
        assert health["Corrections"] == 2  # LIVE and LATE, nothing else
        assert health["Failed"] == 0
        beating.cancel()
        assert await hbtd.terminate() == 0
    log = hbtd.log()
    assert "reconciliation: HSM differed from the heartbeats for 1 of" in log
    assert "Traceback" not in log
