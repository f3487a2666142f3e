"""The etcd gateway's answers and watch stream are read within a bound."""

from __future__ import annotations

import pytest
import trio

from hbtd_server.store import EtcdStore, StoreUnavailable
from tests.hostile_peer import hostile_peer


@pytest.mark.parametrize("mode", ["endless", "2gb", "headers"])
async def test_an_answer_that_never_ends_is_the_store_unavailable(mode: str) -> None:
    async with hostile_peer(mode) as peer:
        store = EtcdStore([peer.url], call_timeout=20)
        try:
            with trio.fail_after(30), pytest.raises(StoreUnavailable) as failed:
                await store.get("records/x1000c0s0b0n0")
            with trio.fail_after(30), pytest.raises(StoreUnavailable):
                await store.get("records/x1000c0s0b0n0")  # and the next call tries again
        finally:
            await store.aclose()
    assert peer.requests == 2
    expected = "RemoteProtocolError" if mode == "headers" else "over the bound of 33554432"
    assert expected in str(failed.value)
    assert "\n" not in str(failed.value)


async def test_a_watch_line_that_never_ends_is_the_store_unavailable() -> None:
    seen: list[object] = []
    async with hostile_peer("line") as peer:
        store = EtcdStore([peer.url], call_timeout=20)
        try:
            with trio.fail_after(30), pytest.raises(StoreUnavailable, match="line is over"):
                await store.watch("records/", seen.append, after=0)
        finally:
            await store.aclose()
    assert seen == []  # the created line carries no events; nothing else was whole
