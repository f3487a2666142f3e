"""One contract, two stores (#7): ``MemoryStore`` and ``EtcdStore`` pass the same tests.

The etcd flavour talks to a real etcd-server on loopback (started once for this module); each
test works under its own key prefix, so tests do not see each other.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
import trio

from hb_sim.ports import free_port
from hbtd_server.store import (
    MAX_TXN_OPS,
    EtcdStore,
    MemoryBackend,
    MemoryStore,
    Store,
    StoreUnavailable,
    WatchEvent,
    parse_kv_url,
)
from tests.etcd_support import EtcdServer

MakeStore = Callable[[], Store]
_prefixes = itertools.count()


@pytest.fixture(scope="module")
def etcd_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = EtcdServer(tmp_path_factory.mktemp("etcd"))
    server.launch()
    try:
        server.wait_ready_blocking()
        yield server.url
    finally:
        server.stop()


@pytest.fixture(params=["memory", "etcd"])
async def make_store(request: pytest.FixtureRequest) -> AsyncIterator[MakeStore]:
    """Clients of one store under one fresh prefix: ``make_store()`` gives another client."""
    prefix = f"test{next(_prefixes)}/"
    clients: list[Store] = []
    backend = MemoryBackend()
    url: str = request.getfixturevalue("etcd_url") if request.param == "etcd" else ""

    def make() -> Store:
        store: Store = (
            EtcdStore([url], prefix=prefix) if url else MemoryStore(backend, prefix=prefix)
        )
        clients.append(store)
        return store

    yield make
    for client in clients:
        await client.aclose()


async def test_puts_deletes_and_prefix_reads(make_store: MakeStore) -> None:
    store = make_store()
    assert await store.get("a") is None
    first = await store.apply([("hb/a", b"1"), ("hb/b", b"2"), ("params", b"{}")])
    assert await store.get("hb/a") == b"1"
    found, revision = await store.get_prefix("hb/")
    assert found == {"hb/a": b"1", "hb/b": b"2"}
    assert revision >= first
    second = await store.apply([("hb/a", None), ("hb/b", b"3"), ("hb/zz", None)])
    assert second > first
    found, _ = await store.get_prefix("")
    assert found == {"hb/b": b"3", "params": b"{}"}


async def test_prefixes_keep_stores_apart(make_store: MakeStore) -> None:
    store = make_store()
    await store.apply([("k", b"mine")])
    other_prefix = MemoryStore(prefix="elsewhere/")
    assert await other_prefix.get("k") is None
    assert (await make_store().get("k")) == b"mine"  # same prefix, another client


async def test_a_transaction_holds_at_most_128_operations(make_store: MakeStore) -> None:
    store = make_store()
    ops = [(f"hb/x{i}", b"v") for i in range(MAX_TXN_OPS)]
    await store.apply(ops)
    found, _ = await store.get_prefix("hb/")
    assert len(found) == MAX_TXN_OPS
    with pytest.raises(ValueError, match="at most 128"):
        await store.apply([*ops, ("one/more", b"v")])


async def test_large_prefix_reads_page_through_everything(make_store: MakeStore) -> None:
    store = make_store()
    for start in range(0, 6000, MAX_TXN_OPS):
        await store.apply([(f"hb/x{i:05}", b"v") for i in range(start, min(6000, start + 128))])
    found, _ = await store.get_prefix("hb/")
    assert len(found) == 6000


async def test_a_watch_sees_later_changes_of_others(make_store: MakeStore) -> None:
    watcher, writer = make_store(), make_store()
    await writer.apply([("hb/before", b"0")])
    _, revision = await watcher.get_prefix("")
    seen: list[WatchEvent] = []
    got_two = trio.Event()

    def sink(events: list[WatchEvent]) -> None:
        seen.extend(events)
        if len(seen) >= 2:
            got_two.set()

    async with trio.open_nursery() as nursery:
        await nursery.start(
            lambda task_status: watcher.watch("hb/", sink, after=revision, task_status=task_status)
        )
        await writer.apply([("hb/a", b"1"), ("other/x", b"ignored")])
        await writer.apply([("hb/a", None)])
        with trio.fail_after(5):
            await got_two.wait()
        nursery.cancel_scope.cancel()
    assert [(e.key, e.value) for e in seen] == [("hb/a", b"1"), ("hb/a", None)]
    assert seen[0].revision > revision
    assert seen[1].revision > seen[0].revision


async def test_one_holder_of_the_leader_key(make_store: MakeStore) -> None:
    first, second = make_store(), make_store()
    assert await first.acquire("leader", b"first", ttl=5)
    assert await first.acquire("leader", b"first", ttl=5)  # already ours
    assert not await second.acquire("leader", b"second", ttl=5)
    assert await first.refresh()
    assert not await second.refresh()  # holds nothing
    assert await second.get("leader") == b"first"
    await first.release()
    assert await second.get("leader") is None
    assert await second.acquire("leader", b"second", ttl=5)
    assert not await first.refresh()


async def test_the_key_goes_when_its_lease_runs_out(make_store: MakeStore) -> None:
    first, second = make_store(), make_store()
    assert await first.acquire("leader", b"first", ttl=1)
    start = trio.current_time()
    with trio.fail_after(10):
        while not await second.acquire("leader", b"second", ttl=1):  # noqa: ASYNC110
            await trio.sleep(0.1)
    assert trio.current_time() - start >= 0.9
    assert not await first.refresh()


async def test_an_unreachable_store_says_so() -> None:
    dead = EtcdStore([f"http://127.0.0.1:{_closed_port()}"], call_timeout=2)
    with pytest.raises(StoreUnavailable, match="ConnectError"):
        await dead.get("x")
    await dead.aclose()
    backend = MemoryBackend()
    memory = MemoryStore(backend)
    backend.switch(down=True)
    with pytest.raises(StoreUnavailable, match="switched off"):
        await memory.apply([("a", b"1")])


async def test_a_second_endpoint_is_used_when_the_first_is_down(etcd_url: str) -> None:
    store = EtcdStore([f"http://127.0.0.1:{_closed_port()}", etcd_url], prefix="fallback/")
    await store.apply([("a", b"1")])
    assert await store.get("a") == b"1"
    await store.aclose()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mem:", None),
        ("http://etcd:2379", ["http://etcd:2379"]),
        ("http://a:2379, http://b", ["http://a:2379", "http://b:2379"]),
        ("https://[::1]:2379", ["https://[::1]:2379"]),
    ],
)
def test_kv_urls(text: str, expected: list[str] | None) -> None:
    assert parse_kv_url(text) == expected


@pytest.mark.parametrize(
    # The last one passes urllib's parser but not httpx's, the etcd client's (#21).
    "text",
    ["etcd:2379", "ftp://a", "http://", "http://a:99999", "http://a/x", "http://h\x01:2379"],
)
def test_malformed_kv_urls_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"URL|endpoint|path"):
        parse_kv_url(text)


def _closed_port() -> int:
    return free_port()
