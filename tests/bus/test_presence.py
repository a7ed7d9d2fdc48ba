"""Presence stores (app/presence_port.py): the one-process memory store and the
cluster's Redis store (issue 16) pass the same tests: pages and their pings, who is in
a meeting, calls with the time the sweeper acts on them, compare-and-set of a call's
state and claims of due calls. Redis alone: a dead node's seats stop counting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from confero.app.presence_port import Activity, PageRecord, PresenceStore
from confero.bus.presence import MemoryPresence
from confero.bus.redis_presence import RedisPresence
from confero.domain.calls import Call, CallState
from tests.bus.redis_support import redis_for_test

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[PresenceStore]:
    if request.param == "memory":
        yield MemoryPresence()
        return
    async with redis_for_test() as (client, keys):
        await client.set(keys.of("node", "n1"), "{}")  # node n1 is alive (its registry)
        yield RedisPresence(client, keys, "n1")


async def test_pages_and_pings(store: PresenceStore) -> None:
    await store.add_page(PageRecord("p1", "ann", "tok-a", 10.0))
    await store.add_page(PageRecord("p2", "ann", "tok-b", 10.0))
    await store.add_page(PageRecord("p3", "bob", "tok-c", 10.0))
    assert [p.id for p in await store.pages_of("ann")] == ["p1", "p2"]
    assert await store.touch_page("p1", 20.0) and not await store.touch_page("gone", 20.0)
    assert sorted(p.id for p in await store.stale_pages(15.0)) == ["p2", "p3"]
    assert await store.stale_pages(5.0) == []
    removed = await store.remove_page("p2")
    assert removed == PageRecord("p2", "ann", "tok-b", 10.0)
    assert await store.remove_page("p2") is None, "of two nodes dropping it, one gets it"
    assert [p.id for p in await store.pages_of("ann")] == ["p1"]
    assert await store.pages_of("cid") == []
    facts = await store.activity(["ann", "cid"])
    assert facts == {"ann": Activity(busy=False, online=True), "cid": Activity(False, False)}


async def test_meetings(store: PresenceStore) -> None:
    await store.enter_meeting("pid-1", "ann", "room-1")
    await store.enter_meeting("pid-2", "ann", "room-2")
    await store.enter_meeting("pid-3", "bob", "room-1")
    assert (await store.activity(["ann"]))["ann"].busy
    assert await store.in_room("ann", "room-2") and not await store.in_room("bob", "room-2")
    assert await store.leave_meeting("pid-2") == "ann"
    assert await store.leave_meeting("pid-2") is None
    assert (await store.activity(["ann"]))["ann"].busy, "still in room 1"
    assert await store.end_meeting("room-1") == {"ann", "bob"}
    facts = await store.activity(["ann", "bob"])
    assert not facts["ann"].busy and not facts["bob"].busy
    assert await store.end_meeting("room-1") == set()


async def test_calls_when_they_are_due_and_claims(store: PresenceStore) -> None:
    one = Call.start("ann", "Ann", "bob", "Bob", waiting=False, now=NOW)
    two = Call.start("cid", "Cid", "ann", "Ann", waiting=True, now=NOW)
    await store.put_call(one, 30.0)
    await store.put_call(two, 40.0)
    assert await store.get_call(one.id) == one and await store.get_call("nope") is None
    assert {c.id for c in await store.calls_of("ann")} == {one.id, two.id}
    assert [c.id for c in await store.calls_of("bob")] == [one.id]
    assert [c.id for c in await store.due_calls(35.0)] == [one.id]
    assert await store.due_calls(35.0) == [], "claimed: a second sweeper gets nothing"
    accepted = one.accept("room-9", "/join/t?call=x")
    assert await store.swap_call(accepted, None, CallState.RINGING)
    assert not await store.swap_call(one.decline(), 50.0, CallState.RINGING), "answered"
    assert await store.get_call(one.id) == accepted
    assert await store.due_calls(1000.0) == [two]
    assert await store.call_in_room("room-9") == accepted
    assert await store.call_in_room("room-1") is None
    await store.drop_call(one.id)
    await store.drop_call(one.id)
    assert await store.get_call(one.id) is None
    assert [c.id for c in await store.calls_of("ann")] == [two.id]
    assert await store.call_in_room("room-9") is None
    assert not await store.swap_call(accepted, None, CallState.ACCEPTED), "gone"


async def test_a_dead_nodes_seats_stop_counting() -> None:
    """The owner of a meeting is killed: its seats would make people busy for ever."""
    async with redis_for_test() as (client, keys):
        for node in ("n1", "n2"):
            await client.set(keys.of("node", node), "{}")
        n1, n2 = RedisPresence(client, keys, "n1"), RedisPresence(client, keys, "n2")
        await n1.enter_meeting("pid-1", "ann", "room-1")
        await n2.add_page(PageRecord("p1", "ann", "tok", 10.0))
        assert await n2.activity(["ann"]) == {"ann": Activity(busy=True, online=True)}
        await client.delete(keys.of("node", "n1"))  # its registry entry lapsed
        assert await n2.activity(["ann"]) == {"ann": Activity(busy=False, online=True)}
        assert not await n2.in_room("ann", "room-1")
        assert await client.exists(keys.of("seat", "pid-1")) == 0, "cleaned up"


async def test_a_node_started_again_forgets_its_seats() -> None:
    async with redis_for_test() as (client, keys):
        await client.set(keys.of("node", "n1"), "{}")
        before = RedisPresence(client, keys, "n1")
        await before.enter_meeting("pid-1", "ann", "room-1")
        again = RedisPresence(client, keys, "n1")
        await again.forget_node()
        assert await again.activity(["ann"]) == {"ann": Activity(busy=False, online=False)}
