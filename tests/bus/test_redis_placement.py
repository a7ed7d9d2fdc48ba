"""Room leases in the real Redis (issue 16 item 2, bus/redis_placement.py): one owner per
room; a node that stops beating loses its rooms within the lease; a node cut off from
Redis gives them up before another may take them; nobody renews a lease it lost; a clean
shutdown frees everything at once. Leases are short here (1.5 s) so the tests are."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from confero.app.placement import NodeInfo
from confero.bus.redis_connection import RedisKeys, connect
from confero.bus.redis_placement import RedisPlacement
from confero.domain.errors import DomainError
from tests.bus.redis_support import REDIS_URL, redis_for_test

TTL_MS = 1500  # 600 ms lost leases in CI: a 200 ms beat timeout is one scheduling stall
TTL = TTL_MS / 1000


def node(name: str) -> NodeInfo:
    return NodeInfo(name, f"http://10.0.0.{len(name)}:8080", "10.0.0.9", 5060, "10.0.0.9")


@pytest.fixture
async def redis() -> AsyncIterator[tuple[Redis, RedisKeys]]:
    async with redis_for_test() as found:
        yield found


class Cluster:
    """Nodes on one Redis and one prefix; each records the rooms it was told it lost."""

    def __init__(self, client: Redis, keys: RedisKeys) -> None:
        self.client, self.keys = client, keys
        self.lost: dict[str, list[str]] = {}
        self.nodes: list[RedisPlacement] = []

    async def node(
        self, name: str, *, ttl_ms: int = TTL_MS, client: Redis | None = None
    ) -> RedisPlacement:
        placement = RedisPlacement(client or self.client, node(name), keys=self.keys, ttl_ms=ttl_ms)
        self.lost[name] = []
        placement.on_lost(self.lost[name].append)
        await placement.start()
        self.nodes.append(placement)
        return placement

    async def close(self) -> None:
        for placement in self.nodes:
            await placement.close()


@pytest.fixture
async def cluster(redis: tuple[Redis, RedisKeys]) -> AsyncIterator[Cluster]:
    c = Cluster(*redis)
    try:
        yield c
    finally:
        await c.close()


async def eventually(check: Callable[[], Awaitable[bool]], within: float) -> float:
    """Seconds until ``check`` holds; fails past ``within``."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not await check():
        assert loop.time() - start < within, "the expected change never happened"
        await asyncio.sleep(0.02)
    return loop.time() - start


async def test_a_room_has_one_owner_and_passes_on_when_released(cluster: Cluster) -> None:
    a, b = await cluster.node("a"), await cluster.node("b")
    assert await a.claim("r") == a.this_node
    assert await b.claim("r") == a.this_node  # b is told where the room runs
    assert await b.owner("r") == a.this_node
    assert await a.claim("r") == a.this_node  # claiming again keeps it
    await a.release("r")
    assert await b.owner("r") is None
    assert await b.claim("r") == b.this_node
    assert await a.claim("r") == b.this_node
    assert a.held() == frozenset() and b.held() == {"r"}
    assert cluster.lost == {"a": [], "b": []}


async def test_the_heartbeat_keeps_a_live_nodes_rooms(cluster: Cluster) -> None:
    a, b = await cluster.node("a"), await cluster.node("b")
    await a.claim("r")
    await asyncio.sleep(3 * TTL)
    assert await b.claim("r") == a.this_node
    assert await b.owner("r") == a.this_node
    assert cluster.lost["a"] == []


async def test_a_dead_nodes_room_is_free_within_the_lease(cluster: Cluster) -> None:
    a, b = await cluster.node("a"), await cluster.node("b")
    await a.claim("r")
    await a.stop()  # a hangs (or died): no more heartbeats

    async def b_runs_it() -> bool:
        return await b.claim("r") == b.this_node

    took = await eventually(b_runs_it, within=TTL + 1.0)
    assert took <= TTL + 0.5  # the lease, plus a loaded machine's slack
    assert await a.owner("r") == b.this_node


async def test_a_node_that_wakes_up_is_told_it_lost_and_renews_nothing_of_others(
    cluster: Cluster,
) -> None:
    a, b = await cluster.node("a"), await cluster.node("b")
    await a.claim("r")
    await a.stop()
    await eventually(lambda: _claimed(b, "r"), within=TTL + 1.0)
    await b.stop()  # b holds r now and stops beating: only b could keep r alive
    await a.start()  # a wakes up: its next heartbeat finds r taken

    async def a_was_told() -> bool:
        return cluster.lost["a"] == ["r"]

    await eventually(a_was_told, within=2 * TTL)
    assert a.held() == frozenset()
    lease = cluster.keys.of("lease", "r")
    assert await cluster.client.get(lease) == b"b"
    # a beats on and does not renew b's lease: it lapses as b's silence says.
    await eventually(lambda: _gone(cluster.client, lease), within=TTL + 0.5)
    assert cluster.lost["b"] == []  # b never beat again, so it was told nothing yet


async def test_release_leaves_another_nodes_lease_alone(cluster: Cluster) -> None:
    a, b = await cluster.node("a"), await cluster.node("b")
    await a.claim("r")
    await a.stop()
    await eventually(lambda: _claimed(b, "r"), within=TTL + 1.0)
    await a.release("r")  # a's late release (its conference ended meanwhile)
    assert await a.owner("r") == b.this_node


async def test_a_lease_whose_node_left_the_registry_is_free(cluster: Cluster) -> None:
    a, b = await cluster.node("a"), await cluster.node("b")
    await a.claim("r")
    await a.stop()
    await cluster.client.delete(cluster.keys.of("node", "a"))  # a's entry lapsed first
    assert await b.owner("r") is None
    assert await b.claim("r") == b.this_node


async def test_a_clean_shutdown_frees_every_room_at_once(cluster: Cluster) -> None:
    a, b = await cluster.node("a"), await cluster.node("b")
    await a.claim("r1")
    await a.claim("r2")
    await a.close()
    assert await b.owner("r1") is None
    assert await b.claim("r2") == b.this_node
    assert await cluster.client.exists(cluster.keys.of("node", "a")) == 0
    assert cluster.lost["a"] == []  # giving up is not losing


async def test_a_node_cut_off_from_redis_gives_its_rooms_up_before_they_lapse(
    cluster: Cluster,
) -> None:
    ttl_ms = 1500
    async with Forwarder(REDIS_URL) as cable:
        a = await cluster.node("a", ttl_ms=ttl_ms, client=cable.client)
        b = await cluster.node("b", ttl_ms=ttl_ms)
        await a.claim("r")
        lost = asyncio.Event()
        a.on_lost(lambda room: lost.set())
        cable.cut()
        async with asyncio.timeout(ttl_ms / 1000 + 1):
            await lost.wait()
        # Told while Redis still kept a's lease: b could not have started r yet.
        assert await cluster.client.pttl(cluster.keys.of("lease", "r")) > 0
        assert cluster.lost["a"] == ["r"]
        assert not await a.alive()
        await eventually(lambda: _claimed(b, "r"), within=ttl_ms / 1000 + 1)


async def test_a_claim_without_redis_is_a_busy_conference() -> None:
    nowhere = connect("redis://127.0.0.1:1/0")
    try:
        placement = RedisPlacement(nowhere, node("a"), keys=RedisKeys("test-nowhere"))
        with pytest.raises(DomainError) as caught:
            await placement.claim("r")
        assert caught.value.code == "conference.busy"
    finally:
        await nowhere.aclose()


async def _claimed(placement: RedisPlacement, room: str) -> bool:
    return await placement.claim(room) == placement.this_node


async def _gone(client: Redis, key: str) -> bool:
    return await client.exists(key) == 0


class Forwarder:
    """A TCP cable between one node and Redis that the test can cut."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 6379)
        self._db = parts.path.lstrip("/") or "0"
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.client: Redis

    async def __aenter__(self) -> Forwarder:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.client = connect(f"redis://127.0.0.1:{port}/{self._db}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.cut()
        await self.client.aclose()

    def cut(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        self._writers |= {writer, up_writer}
        try:
            await asyncio.gather(_copy(reader, up_writer), _copy(up_reader, writer))
        finally:
            for w in (writer, up_writer):
                self._writers.discard(w)
                w.close()


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


async def test_stop_ends_the_beat_even_when_a_redis_call_swallows_the_cancel(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cancel that lands inside a Redis call can come out as a ``RedisError`` (or as
    ``asyncio.timeout``'s ``TimeoutError`` on 3.11), which the beat survives on purpose:
    ``stop`` must end the beat all the same (it once hung a node's shutdown for good)."""
    a = await cluster.node("a")
    in_call = asyncio.Event()

    async def renew_that_swallows(rooms: list[str]) -> list[str]:
        in_call.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            raise RedisError("Connection closed by server.") from None
        return []

    monkeypatch.setattr(a, "_renew", renew_that_swallows)
    await asyncio.wait_for(in_call.wait(), 5)
    await asyncio.wait_for(a.stop(), 2)
