"""The mock HSM of a live run: served in this process, or another process's ``/mock`` API."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import httpx

from ..errors import HbSimError
from ..hsm import Faults, MockHsm, RecordedRequest, StateChange
from ..scenario import Scenario
from ._reads import RECORDS_LIMIT as _RECORDS
from ._reads import call

__all__ = ["LiveHsm", "LocalHsm", "RemoteHsm", "hsm_states"]


def hsm_states(model: MockHsm, names: Sequence[str]) -> dict[str, tuple[str, str]]:
    """(State, Flag) of each of ``names`` the model knows."""
    components = model.components
    return {x: (c.state, c.flag) for x in names if (c := components.get(x)) is not None}


class LiveHsm:
    """What the live runner needs of the mock HSM."""

    url = ""
    model: MockHsm | None = None

    async def set_faults(self, faults: Faults) -> None:
        raise NotImplementedError

    async def set_power(self, ids: Sequence[str], *, on: bool) -> None:
        raise NotImplementedError

    async def records(self) -> tuple[list[StateChange], list[RecordedRequest]]:
        raise NotImplementedError

    async def write_state(self, ids: Sequence[str], state: str, flag: str, *, force: bool) -> None:
        raise NotImplementedError

    async def states(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        raise NotImplementedError

    async def restore(self, states: Mapping[str, tuple[str, str]]) -> None:
        raise NotImplementedError


class LocalHsm(LiveHsm):
    def __init__(self, model: MockHsm, url: str, clock: Callable[[], float]) -> None:
        self.model = model
        self.url = url
        self.clock = clock

    async def write_state(self, ids: Sequence[str], state: str, flag: str, *, force: bool) -> None:
        assert self.model is not None
        self.model.set_state(ids, state, flag, force=force, now=self.clock())

    async def states(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        assert self.model is not None
        return hsm_states(self.model, ids)

    async def restore(self, states: Mapping[str, tuple[str, str]]) -> None:
        assert self.model is not None
        self.model.restore(states, now=self.clock())

    async def set_faults(self, faults: Faults) -> None:
        assert self.model is not None
        self.model.set_faults(faults)

    async def set_power(self, ids: Sequence[str], *, on: bool) -> None:
        assert self.model is not None
        self.model.set_power(ids, on=on)

    async def records(self) -> tuple[list[StateChange], list[RecordedRequest]]:
        assert self.model is not None
        return self.model.changes(), self.model.requests()


class RemoteHsm(LiveHsm):
    """A mock HSM in another process (``hb-sim mock-hsm``), reached through ``/mock``."""

    def __init__(self, url: str, client: httpx.AsyncClient, wall_start: float) -> None:
        self.url = url.rstrip("/")
        self.client = client
        self.wall_start = wall_start
        self.first_change = 0
        self.first_request = 0

    async def prepare(self, scenario: Scenario, initial: dict[str, tuple[str, str]]) -> None:
        changes = (
            await call(self.client, "GET", f"{self.url}/mock/changes", limit=_RECORDS)
        ).json()
        requests = (
            await call(self.client, "GET", f"{self.url}/mock/requests", limit=_RECORDS)
        ).json()
        self.first_change = changes[-1]["index"] + 1 if changes else 0
        self.first_request = requests[-1]["index"] + 1 if requests else 0
        components = [{"ID": x, "State": s, "Flag": f} for x, (s, f) in initial.items()]
        answer = await call(
            self.client,
            "POST",
            f"{self.url}/hsm/v2/State/Components",
            json={"Components": components, "Force": True},
        )
        if answer.status_code != 204:
            raise HbSimError(f"{self.url} refused the fleet's components: {answer.text[:200]}")
        await self.set_faults(scenario.hsm.faults)

    async def set_faults(self, faults: Faults) -> None:
        await call(self.client, "POST", f"{self.url}/mock/faults", json=faults.to_json())

    async def set_power(self, ids: Sequence[str], *, on: bool) -> None:
        await call(self.client, "POST", f"{self.url}/mock/power", json={"ids": list(ids), "on": on})

    async def write_state(self, ids: Sequence[str], state: str, flag: str, *, force: bool) -> None:
        order = {"ids": list(ids), "state": state, "flag": flag, "force": force}
        await self.client.post(f"{self.url}/mock/write", json=order)

    async def states(self, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        wanted = set(ids)
        components = (await self.client.get(f"{self.url}/mock/state")).json()["Components"]
        return {c["ID"]: (c["State"], c["Flag"]) for c in components if c["ID"] in wanted}

    async def restore(self, states: Mapping[str, tuple[str, str]]) -> None:
        body = {"components": {x: list(value) for x, value in states.items()}}
        await self.client.post(f"{self.url}/mock/restore", json=body)

    async def records(self) -> tuple[list[StateChange], list[RecordedRequest]]:
        shift = self.wall_start
        since_change = {"since": str(self.first_change)}
        since_request = {"since": str(self.first_request)}
        raw_changes = (
            await call(
                self.client, "GET", f"{self.url}/mock/changes", limit=_RECORDS, params=since_change
            )
        ).json()
        raw_requests = (
            await call(
                self.client,
                "GET",
                f"{self.url}/mock/requests",
                limit=_RECORDS,
                params=since_request,
            )
        ).json()
        changes = [
            StateChange(c["index"], c["time"] - shift, tuple(c["ids"]), c["state"], c["flag"])
            for c in raw_changes
        ]
        requests = [
            RecordedRequest(
                index=r["index"],
                time=r["time"] - shift,
                method=r["method"],
                path=r["path"],
                query={k: tuple(v) for k, v in r["query"].items()},
                body=r["body"],
                raw_body=r["raw_body"],
                status=r["status"],
            )
            for r in raw_requests
        ]
        return changes, requests
