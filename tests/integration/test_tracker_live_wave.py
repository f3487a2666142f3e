"""Issue 3, acceptance 2: the real ``hbtd`` process, 1,000 live components and the mock HSM.

Timeline (seconds from the fleet's start; Warntime 2, Errtime 4, Interval 1; every node beats
once a second at its own phase):

* 0: all 1,000 start                                  -> "started" for all
* 3: ``dying`` (200) and ``flapping`` (200) go silent  -> warnings by last+2, alerts by last+4
* ~5: ``flapping`` resume, each 3 s after its last beat -> "restarted"
* 9: half of ``dying`` resumes (declared dead)         -> "started" again
* 10: HSM goes down; ``outage_dead`` (100) and ``outage_flap`` (100) go silent
* ~12: ``outage_flap`` resume the same way           -> warning, then restarted, while HSM is down
* 15.5: HSM comes back                                 -> only each node's latest state arrives
* 18.5: stop

Every change must reach HSM within Warntime/Errtime + 0.5 s of the node's last heartbeat
(outside the outage), never early, batched per wave; nodes that never stopped get nothing.
"""

from __future__ import annotations

import math
from collections import defaultdict
from functools import partial

import pytest
import trio

from hb_sim.fleet import LiveFleet
from hb_sim.hsm import Faults, MockHsm, RecordedRequest, serve_mock_hsm
from hbtd_server.notify import BATCH_WINDOW

from .conftest import StartHbtd, nodes
from .fleet_watch import FleetWatch, inconclusive_if_late

pytestmark = pytest.mark.integration

WARNTIME, ERRTIME = 2.0, 4.0
SLACK = 0.5
WARNING = ("Ready", "Warning", "Heartbeat stopped -- might be dead")
DEAD = ("Standby", "Alert", "Heartbeat stopped -- declared dead")
STARTED = ("Ready", "OK", "Heartbeat started")
RESTARTED = ("Ready", "OK", "Heartbeat restarted")


def accepted_patches(hsm: MockHsm) -> list[tuple[float, tuple[str, str, str], list[str]]]:
    out = []
    for request in hsm.requests():
        if (
            request.method == "PATCH"
            and request.path.endswith("/BulkStateData")
            and request.status == 204
        ):
            out.append((request.time, _kind(request), list(request.body["ComponentIDs"])))
    return out


def _kind(request: RecordedRequest) -> tuple[str, str, str]:
    body = request.body
    return (body["State"], body["Flag"], body["ExtendedInfo"]["Message"])


async def test_thousand_components_through_a_real_tracker(start_hbtd: StartHbtd) -> None:
    names = nodes(1000)
    dying, flapping = names[0:200], names[200:400]
    revived, stay_dead = dying[:100], dying[100:]
    outage_dead, outage_flap = names[400:500], names[500:600]
    steady = names[600:]
    hsm = MockHsm(nodes=names)

    # On a loaded machine the fleet can fall behind: then a failure is inconclusive (#15).
    watch = FleetWatch(tolerance=SLACK)
    with inconclusive_if_late(watch):
        async with trio.open_nursery() as nursery:
            [hsm_base] = await nursery.start(
                partial(serve_mock_hsm, hsm, port=0, clock=trio.current_time)
            )
            async with start_hbtd(
                "--warntime",
                str(int(WARNTIME)),
                "--errtime",
                str(int(ERRTIME)),
                "--interval",
                "1",
                "--sm_url",
                f"{hsm_base}/hsm/v2",
            ) as hbtd:
                fleet = LiveFleet(
                    targets=[f"http://127.0.0.1:{hbtd.port}"], xnames=names, interval=1.0
                )
                t0 = trio.current_time()
                await nursery.start(fleet.run)
                watch.follow(fleet)
                await nursery.start(watch.run)

                async def at(offset: float) -> None:
                    await trio.sleep_until(t0 + offset)

                await at(3.0)
                fleet.silence(dying + flapping)
                silenced_at = trio.current_time()
                await at(3.1)  # a heartbeat in flight at 3.0 has been sent by now
                last_before_silence = {x: fleet.last_sent[x] for x in dying + flapping}
                nursery.start_soon(resume_between_warning_and_death, fleet, flapping)
                await at(9.0)
                fleet.resume(revived)
                await at(10.0)
                hsm.set_faults(Faults(mode="down"))
                fleet.silence(outage_dead + outage_flap)
                await at(10.1)
                nursery.start_soon(resume_between_warning_and_death, fleet, outage_flap)
                await at(15.5)
                hsm.set_faults(Faults())
                recovered_at = trio.current_time()
                await at(18.5)
                nursery.cancel_scope.cancel()
                assert not fleet.rejected
                assert await hbtd.terminate() == 0

        patches = accepted_patches(hsm)
        seen: dict[str, list[tuple[float, tuple[str, str, str]]]] = defaultdict(list)
        for time, kind, ids in patches:
            for xname in ids:
                seen[xname].append((time, kind))

        # Everyone started, once, early.
        for xname in names:
            assert seen[xname][0][1] == STARTED, xname

        # Nodes that never stopped: nothing but "started".
        for xname in steady:
            assert [kind for _, kind in seen[xname]] == [STARTED], xname

        # The dying: a warning within Warntime + slack of the last heartbeat, then an alert.
        for xname in dying:
            kinds = [kind for _, kind in seen[xname]]
            expected = [STARTED, WARNING, DEAD] + ([STARTED] if xname in revived else [])
            assert kinds == expected, xname
            warn_time = seen[xname][1][0]
            dead_time = seen[xname][2][0]
            last = last_before_silence[xname]
            assert last <= silenced_at
            assert last + WARNTIME <= warn_time <= last + WARNTIME + SLACK, xname
            assert last + ERRTIME <= dead_time <= last + ERRTIME + SLACK, xname
        for xname in flapping:
            assert [kind for _, kind in seen[xname]] == [STARTED, WARNING, RESTARTED], xname
        for xname in stay_dead:
            assert hsm.component(xname).state == "Standby"
            assert hsm.component(xname).flag == "Alert"
        for xname in revived + flapping + steady:
            assert (hsm.component(xname).state, hsm.component(xname).flag) == ("Ready", "OK")

        # The wave is batched: per category, at most one PATCH per batching window over the time
        # the last heartbeats were spread (plus one for the window that straddles the start).
        spread = max(last_before_silence.values()) - min(last_before_silence.values())
        bound = math.ceil(spread / BATCH_WINDOW) + 1
        wave = range_patches(patches, WARNING, silenced_at, silenced_at + 3.0)
        assert 1 <= len(wave) <= bound, (len(wave), bound)
        dead_wave = range_patches(patches, DEAD, silenced_at, silenced_at + 5.0)
        assert 1 <= len(dead_wave) <= bound, (len(dead_wave), bound)

        # During the outage several changes per node collapsed to the latest one.
        for xname in outage_dead:
            after = [kind for time, kind in seen[xname] if time >= recovered_at - 0.01]
            assert after == [DEAD], xname
            assert [kind for _, kind in seen[xname]] == [STARTED, DEAD], xname
        for xname in outage_flap:
            assert [kind for _, kind in seen[xname]] == [STARTED, RESTARTED], xname


async def resume_between_warning_and_death(fleet: LiveFleet, xnames: list[str]) -> None:
    """Resume each node halfway between its warning and its death, a second from either."""
    last = {x: fleet.last_sent[x] for x in xnames}
    for xname in sorted(xnames, key=last.__getitem__):
        await trio.sleep_until(last[xname] + (WARNTIME + ERRTIME) / 2)
        fleet.resume([xname])


def range_patches(
    patches: list[tuple[float, tuple[str, str, str], list[str]]],
    kind: tuple[str, str, str],
    start: float,
    end: float,
) -> list[float]:
    return [time for time, k, _ in patches if k == kind and start <= time <= end]
