"""Placement in the app (issue 16 item 2, F-SC2): two nodes (two service stacks on one
database) share room leases in the real Redis. A room runs on one node; a join or a
command that reaches the other is told where (``conference.elsewhere``); once the
conference ends there, the next join starts it here; a node that hung loses its room to
the other, which starts it with the stored lock, and the hung node's conference ends
with reason ``moved`` when it wakes up.

The database is PostgreSQL when ``CONFERO_TEST_DATABASE_URL`` names one (CI), else one
SQLite file both stacks open."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

import pytest

from confero.app.services import Services
from confero.bus.redis_placement import RedisPlacement
from confero.domain import commands as c
from confero.domain import events as ev
from confero.domain.errors import DomainError
from confero.domain.roles import Role
from confero.domain.rooms import Room
from tests.app.conftest import LEASE


def placement(node: Services) -> RedisPlacement:
    return cast(RedisPlacement, node.registry.placement)


async def join(node: Services, room: Room, name: str) -> str:
    pid, _ = await node.conferences.join(
        room, display_name=name, role=Role.MODERATOR, channel="web", identity=name
    )
    return pid


async def refused_elsewhere(node: Services, room: Room, name: str) -> DomainError:
    with pytest.raises(DomainError) as caught:
        await join(node, room, name)
    assert caught.value.code == "conference.elsewhere", caught.value
    return caught.value


async def eventually(check: Callable[[], bool], within: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        assert loop.time() < deadline, "the expected change never happened"
        await asyncio.sleep(0.02)


async def join_when_free(node: Services, room: Room, name: str, within: float) -> str:
    """Join as soon as the room's lease lets this node run it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            return await join(node, room, name)
        except DomainError as exc:
            assert exc.code == "conference.elsewhere", exc
            assert loop.time() < deadline, "the room never came free"
            await asyncio.sleep(0.05)


async def a_room(node: Services) -> Room:
    host = await node.accounts.create("host@example.org", "correct horse battery", "Host")
    return await node.rooms.create(host, "Weekly")


async def test_a_join_on_another_node_is_told_where_the_room_runs(
    two_nodes: tuple[Services, Services],
) -> None:
    a, b = two_nodes
    room = await a_room(a)
    ann = await join(a, room, "Ann")
    refused = await refused_elsewhere(b, room, "Bob")
    assert refused.context == {"node_id": "a", "internal_url": "http://node-a:8080"}
    assert "node-a" not in refused.detail  # the text a page could show names no address
    assert b.registry.get(room.id) is None
    with pytest.raises(DomainError) as caught:  # nor is the running room "offline" on b
        await b.conferences.command(room, c.Lock(by_role=Role.MODERATOR))
    assert caught.value.code == "conference.elsewhere"
    running = a.registry.get(room.id)
    assert running is not None and [p.display_name for p in running.conference.participants] == [
        "Ann"
    ]

    await a.conferences.command(room, c.Leave(by=ann))  # the last one leaves: it ends on a
    await join_when_free(b, room, "Bob", within=1.0)  # released at once, not after the lease
    assert b.registry.get(room.id) is not None and a.registry.get(room.id) is None
    assert (await refused_elsewhere(a, room, "Ann")).context["node_id"] == "b"


async def test_a_hung_nodes_room_moves_with_its_lock_and_ends_there_as_moved(
    two_nodes: tuple[Services, Services],
) -> None:
    a, b = two_nodes
    ended: list[ev.ConferenceEnded] = []

    async def record(event: ev.Event) -> None:
        if isinstance(event, ev.ConferenceEnded):
            ended.append(event)

    a.bus.subscribe(record)
    room = await a_room(a)
    ann = await join(a, room, "Ann")
    await a.conferences.command(room, c.Lock(by=ann))
    await a.conferences.settled(room)

    await placement(a).stop()  # a hangs: no heartbeat; its lease lapses
    stored = await b.rooms.get_by_id(room.id)
    assert stored is not None and stored.locked
    await join_when_free(b, stored, "Bob", within=LEASE + 1.5)  # b reads the room, as channels do
    moved = b.registry.get(room.id)
    assert moved is not None and moved.conference.locked  # the lock came along

    await placement(a).start()  # a wakes up and learns the room is b's now
    await eventually(lambda: a.registry.get(room.id) is None, within=2 * LEASE)
    await eventually(lambda: bool(ended), within=1.0)
    assert [e.reason for e in ended] == ["moved"]
    await asyncio.sleep(0.1)  # a's release of its ended conference has run
    assert await placement(b).owner(room.id) == placement(b).this_node
    assert b.registry.get(room.id) is not None
