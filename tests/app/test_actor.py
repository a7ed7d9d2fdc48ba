"""The conference actor (confero/app/actor.py): the only reader and writer of its
conference, which answers a command without waiting for any I/O. Its events go to the
bus's outbox. Fast subscribers have them by the answer; durable consumers store them in
order from their own task. A command that ends the conference returns once they are
stored, and so does shutdown. Outside the actor there are only frozen snapshots."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest

from confero.app.actor import ConferenceRegistry
from confero.app.services import Services
from confero.bus.local import LocalBus
from confero.domain import commands as c
from confero.domain import events as ev
from confero.domain.accounts import Account
from confero.domain.conference import Conference
from confero.domain.errors import DomainError
from confero.domain.roles import Role
from confero.domain.rooms import Room
from confero.domain.snapshots import ConferenceSnapshot

M, P = Role.MODERATOR, Role.PARTICIPANT


def conference(conference_id: str) -> Conference:
    return Conference(conference_id, "room", capacity=60)


def join(pid: str, role: Role = P) -> c.Join:
    return c.Join(participant_id=pid, display_name=pid, role=role, channel="api", identity=pid)


class Gated:
    """A durable consumer that stores nothing until its gate opens (a stuck database)."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.stored: list[ev.Event] = []

    async def handle(self, event: ev.Event) -> None:
        await self.gate.wait()
        self.stored.append(event)


async def test_the_answer_does_not_wait_for_a_slow_durable_consumer() -> None:
    bus, gated, fast = LocalBus(), Gated(), list[ev.Event]()
    bus.subscribe(fast.append)
    bus.subscribe_durable("gated", gated.handle)
    registry = ConferenceRegistry(bus)
    actor, _ = registry.open("room", conference)

    await asyncio.wait_for(actor.send(join("host", M)), 1)
    answer = await asyncio.wait_for(actor.send(join("ann")), 1)
    assert gated.stored == [], "nothing is stored yet, and the actor answered anyway"
    assert all(e in fast for e in answer), "fast subscribers had the events by the answer"

    gated.gate.set()
    await bus.drain("room")
    assert gated.stored == fast, "the same events, in the same order"
    await registry.shutdown()


async def test_every_consumer_sees_the_conference_in_command_order() -> None:
    bus, stored, fast = LocalBus(), list[ev.Event](), list[ev.Event]()

    async def store(event: ev.Event) -> None:
        await asyncio.sleep(0)
        stored.append(event)

    bus.subscribe(fast.append)
    bus.subscribe_durable("store", store)
    registry = ConferenceRegistry(bus)
    actor, _ = registry.open("room", conference)
    answers = await asyncio.gather(
        actor.send(join("host", M)),
        *(actor.send(join(f"p{i}")) for i in range(5)),
        actor.send(c.MuteAll(by="host")),
        actor.send(c.Lock(by="host")),
    )
    in_order = [e for events in answers for e in events]
    await bus.drain("room")
    assert fast == in_order
    assert stored == in_order
    await registry.shutdown()


async def test_a_failing_consumer_blocks_neither_the_actor_nor_the_others() -> None:
    bus, stored = LocalBus(retries=2, backoff=0.001), list[ev.Event]()

    async def broken(event: ev.Event) -> None:
        raise RuntimeError("database down")

    async def store(event: ev.Event) -> None:
        stored.append(event)

    bus.subscribe_durable("broken", broken)
    bus.subscribe_durable("store", store)
    registry = ConferenceRegistry(bus)
    actor, _ = registry.open("room", conference)
    answers = [await asyncio.wait_for(actor.send(join(pid)), 1) for pid in ("a", "b")]
    await asyncio.wait_for(bus.drain("room"), 5)
    assert stored == [e for events in answers for e in events]
    await registry.shutdown()


async def test_mute_all_of_fifty_holds_the_actor_without_any_database() -> None:
    """Issue 10, Measure: the time "mute all" holds the actor must not depend on the
    database. Here the database never answers, and it still takes milliseconds."""
    bus, gated = LocalBus(), Gated()
    bus.subscribe_durable("gated", gated.handle)
    registry = ConferenceRegistry(bus)
    actor, _ = registry.open("room", conference)
    await actor.send(join("host", M))
    for i in range(50):
        await actor.send(join(f"p{i}"))
    start = time.perf_counter()
    events = await asyncio.wait_for(actor.send(c.MuteAll(by="host")), 1)
    held = time.perf_counter() - start
    assert len(events) == 51 and gated.stored == []
    assert held < 0.25, f"mute all held the actor {held * 1000:.1f} ms"
    gated.gate.set()
    await registry.shutdown()
    await bus.drain()
    assert len(gated.stored) > 51


async def test_outside_the_actor_there_are_only_frozen_snapshots() -> None:
    registry = ConferenceRegistry(LocalBus())
    actor, _ = registry.open("room", conference)
    await actor.send(join("host", M))
    before = actor.snapshot()
    assert isinstance(before, ConferenceSnapshot) and actor.conference is before
    host = before.participant("host")
    assert host is not None and host.role is M and not host.muted
    with pytest.raises(dataclasses.FrozenInstanceError):
        host.muted = True  # type: ignore[misc]

    await actor.send(c.ToggleMute(by="host"))
    after_host = actor.snapshot().participant("host")
    assert after_host is not None and after_host.muted
    assert before.participant("host") == host, "an old snapshot stays as it was"
    assert actor.snapshot().to_dict()["participants"][0]["muted"] is True
    await registry.shutdown()


# ------------------------------------------------------------ through the service
async def a_room(services: Services) -> tuple[Account, Room]:
    host = await services.accounts.create("host@example.org", "long-secret", "Host")
    return host, await services.rooms.create(host, "Board")


async def test_ending_a_conference_returns_once_its_events_are_stored(
    services: Services,
) -> None:
    _, room = await a_room(services)
    gated = Gated()
    services.bus.subscribe_durable("gated", gated.handle)
    pid, _ = await services.conferences.join(
        room, display_name="Host", role=M, channel="api", identity="host"
    )
    await services.conferences.command(room, c.Lock(by=pid))  # a keypress: no wait
    ending = asyncio.create_task(services.conferences.command(room, c.EndForAll(by=pid)))
    await asyncio.sleep(0.05)
    assert services.registry.get(room.id) is None, "the actor is done with it"
    assert not ending.done(), "but the caller waits for the stored lock and log"
    gated.gate.set()
    events = await asyncio.wait_for(ending, 1)
    assert isinstance(events[-1], ev.ConferenceEnded)
    assert gated.stored[-1] == events[-1]
    stored = await services.rooms.get_by_id(room.id)
    assert stored is not None and stored.locked, "the next conference starts locked"
    kinds = [e.kind for e in await services.rooms.list_activity(room.id)]
    assert kinds[:2] == ["conference_ended", "lock_changed"]


async def test_shutdown_stores_everything_first(services: Services) -> None:
    _, room = await a_room(services)
    slow: list[ev.Event] = []

    async def store(event: ev.Event) -> None:
        await asyncio.sleep(0.01)
        slow.append(event)

    services.bus.subscribe_durable("slow", store)
    pid, _ = await services.conferences.join(
        room, display_name="Host", role=M, channel="api", identity="host"
    )
    for _ in range(3):
        await services.conferences.command(room, c.ToggleMute(by=pid))
    await services.close()
    assert sum(isinstance(e, ev.MuteChanged) for e in slow) == 3
    kinds = [e.kind for e in await services.rooms.list_activity(room.id)]
    assert kinds.count("mute_changed") == 3


async def test_the_service_hands_out_snapshots_not_participants(services: Services) -> None:
    _, room = await a_room(services)
    pid, _ = await services.conferences.join(
        room, display_name="Host", role=M, channel="api", identity="host", account_id="acc"
    )
    p = services.conferences.participant(room.id, pid)
    assert p is not None and p.display_name == "Host"
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.volume = 4  # type: ignore[misc]
    assert services.conferences.participant_account(room, pid) == "acc"
    await services.conferences.command(room, c.Leave(by=pid))


async def test_a_room_without_a_conference_follows_the_domain_rules(
    services: Services,
) -> None:
    _, room = await a_room(services)
    events = await services.conferences.command(room, c.Lock(by_role=M))
    assert [type(e) for e in events] == [ev.LockChanged]
    stored = await services.rooms.get_by_id(room.id)
    assert stored is not None and stored.locked, "stored when the command returns"
    assert await services.conferences.command(stored, c.Lock(by_role=M)) == []
    with pytest.raises(DomainError) as refused:
        await services.conferences.command(stored, c.Lock(by_role=P))
    assert refused.value.code == "conference.moderator_only"
    with pytest.raises(DomainError) as refused:
        await services.conferences.command(stored, c.MuteAll(by_role=M))
    assert refused.value.code == "conference.not_running"
