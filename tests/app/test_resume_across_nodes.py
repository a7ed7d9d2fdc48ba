"""Resume tokens across nodes (issue 16 item 3, F-SC2): two nodes (two service stacks on
one database) share room leases and resume tokens in the real Redis. A guest whose node
dies comes back on the other node, once the dead node's lease lapsed, as the same
participant: the same id, display name and role; the record, not the page, says which.
A token of another room, or a forged one, joins as a new participant.

The database is PostgreSQL when ``CONFERO_TEST_DATABASE_URL`` names one (CI), else one
SQLite file both stacks open."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from typing import cast

import pytest

from confero.app.services import Services
from confero.app.session import ParticipantSession, Sessions
from confero.bus.redis_placement import RedisPlacement
from confero.domain.errors import DomainError
from confero.domain.roles import Role
from confero.domain.rooms import Room
from tests.app.conftest import LEASE

Node = tuple[Services, Sessions[str]]


@pytest.fixture
def nodes(two_nodes: tuple[Services, Services]) -> Iterator[tuple[Node, Node]]:
    """Node a and node b, each with its browser sessions on the shared token store."""
    built: list[Node] = []
    for services in two_nodes:
        sessions = Sessions[str](services.conferences, tokens=services.resume_tokens)
        services.bus.subscribe(sessions.observe)  # as the browser gateway does
        built.append((services, sessions))
    yield built[0], built[1]
    for _, sessions in built:
        sessions.close()  # before the nodes close (the fixture they come from)


async def a_room(node: Services, name: str = "Weekly") -> Room:
    host = await node.accounts.create(
        f"{secrets.token_hex(4)}@example.org", "correct horse", "Host"
    )
    return await node.rooms.create(host, name)


async def join(
    node: Node, room: Room, name: str | None, role: Role, resume: str | None = None
) -> ParticipantSession[str]:
    session, _ = await node[1].join(
        room, channel="browser", role=role, name=name, resume=resume, attach=lambda _: "page"
    )
    return session


async def join_when_free(
    node: Node, room: Room, name: str | None, role: Role, resume: str | None
) -> ParticipantSession[str]:
    """Join (a page's automatic rejoin) as soon as the room's lease lets this node run it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LEASE + 2.0
    while True:
        try:
            return await join(node, room, name, role, resume)
        except DomainError as exc:
            assert exc.code == "conference.elsewhere", exc
            assert loop.time() < deadline, "the room never came free"
            await asyncio.sleep(0.05)


async def kill(node: Node) -> None:
    """The node stops answering: no heartbeat, its lease lapses within ``LEASE``."""
    await cast(RedisPlacement, node[0].registry.placement).stop()


async def test_a_guest_comes_back_on_another_node_as_the_same_participant(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    room = await a_room(a[0])
    host = await join(a, room, "Hanna Host", Role.MODERATOR)
    guest = await join(a, room, "Gus Guest", Role.PARTICIPANT)
    assert guest.token and guest.token != host.token

    await kill(a)
    # The page rejoins with its token only (the name is the record's), asking no role.
    back = await join_when_free(b, room, None, Role.PARTICIPANT, resume=guest.token)
    assert back.id == guest.id and back.token == guest.token
    assert back.identity == guest.identity
    live = b[0].conferences.participant(room.id, back.id)
    assert live is not None, "in the meeting on node b"
    assert live.display_name == "Gus Guest" and live.role is Role.PARTICIPANT

    # The host's record says moderator: the role comes back though the page asked none.
    again = await join(b, room, None, Role.PARTICIPANT, resume=host.token)
    assert again.id == host.id
    live_host = b[0].conferences.participant(room.id, host.id)
    assert live_host is not None and live_host.role is Role.MODERATOR
    assert live_host.display_name == "Hanna Host"
    running = b[0].registry.get(room.id)
    assert running is not None
    assert sorted(p.id for p in running.conference.participants) == sorted([guest.id, host.id])


async def test_a_guest_never_comes_back_as_moderator(nodes: tuple[Node, Node]) -> None:
    a, b = nodes
    room = await a_room(a[0])
    await join(a, room, "Hanna Host", Role.MODERATOR)
    guest = await join(a, room, "Gus Guest", Role.PARTICIPANT)
    await kill(a)
    back = await join_when_free(b, room, "Gus Guest", Role.PARTICIPANT, resume=guest.token)
    live = b[0].conferences.participant(room.id, back.id)
    assert live is not None and live.role is Role.PARTICIPANT


async def test_a_token_of_another_room_or_a_forged_one_joins_as_new(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    room, other = await a_room(a[0], "Weekly"), await a_room(a[0], "Other")
    await join(a, room, "Hanna Host", Role.MODERATOR)
    guest = await join(a, room, "Gus Guest", Role.PARTICIPANT)

    stranger = await join(b, other, "Gus Guest", Role.PARTICIPANT, resume=guest.token)
    assert stranger.id != guest.id and stranger.identity != guest.identity
    assert stranger.token != guest.token, "a new token of its own"

    forged = secrets.token_urlsafe(24)
    newcomer = await join(b, other, "Mallory", Role.PARTICIPANT, resume=forged)
    assert newcomer.token != forged and newcomer.id not in (guest.id, stranger.id)
    live = b[0].conferences.participant(other.id, newcomer.id)
    assert live is not None and live.display_name == "Mallory" and live.role is Role.PARTICIPANT
    assert await b[1].tokens.get(forged) is None, "a forged token is never stored"


async def test_the_end_of_a_meeting_voids_its_tokens_on_every_node(
    nodes: tuple[Node, Node],
) -> None:
    """F-EN2: after the meeting's end one comes back as new (a locked room: knocking)."""
    a, b = nodes
    room = await a_room(a[0])
    guest = await join(a, room, "Gus Guest", Role.PARTICIPANT)
    await guest.leave()  # the last one: the meeting ends on a, and its lease is given up
    await asyncio.sleep(0.1)  # the records' drop has run
    assert await b[1].tokens.get(guest.token) is None
    later = await join_when_free(b, room, "Gus Guest", Role.PARTICIPANT, resume=guest.token)
    assert later.id != guest.id and later.identity != guest.identity


async def test_one_let_into_a_locked_room_comes_back_on_another_node_without_knocking(
    nodes: tuple[Node, Node],
) -> None:
    """Issue 16: a guest the moderator admitted into a locked room, and one who was in
    before the lock, rejoin on node b (same stored lock) without knocking; one who only
    knocked, a newcomer and a forged token knock there."""
    a, b = nodes
    room = await a_room(a[0])
    host = await join(a, room, "Hanna Host", Role.MODERATOR)
    early = await join(a, room, "Erin Early", Role.PARTICIPANT)
    await host.command("lock")
    await a[0].conferences.settled(room)  # the lock is stored
    admitted = await join(a, room, "Gus Guest", Role.PARTICIPANT)
    waiting = await join(a, room, "Wanda Waiting", Role.PARTICIPANT)
    assert admitted.knocking and waiting.knocking
    await host.command("admit", target=admitted.id)
    assert a[0].conferences.participant(room.id, admitted.id) is not None

    await kill(a)
    stored = await b[0].rooms.get_by_id(room.id)
    assert stored is not None and stored.locked, "the lock came along"
    back = await join_when_free(b, stored, None, Role.PARTICIPANT, resume=admitted.token)
    assert not back.knocking and back.id == admitted.id
    assert b[0].conferences.participant(room.id, admitted.id) is not None, "in, not knocking"
    back_early = await join(b, stored, None, Role.PARTICIPANT, resume=early.token)
    assert not back_early.knocking, "in before the lock: in again"

    knocked_only = await join(b, stored, None, Role.PARTICIPANT, resume=waiting.token)
    assert knocked_only.knocking, "never let in: knocks again"
    newcomer = await join(b, stored, "Nina New", Role.PARTICIPANT)
    forged = await join(b, stored, "Mallory", Role.PARTICIPANT, resume=secrets.token_urlsafe(24))
    assert newcomer.knocking and forged.knocking
    running = b[0].registry.get(room.id)
    assert running is not None
    assert sorted(p.id for p in running.conference.participants) == sorted([admitted.id, early.id])
    assert sorted(k.id for k in running.conference.lobby) == sorted(
        [knocked_only.id, newcomer.id, forged.id]
    )
    live = b[0].conferences.participant(room.id, admitted.id)
    assert live is not None and live.role is Role.PARTICIPANT, "no higher role from it"


async def test_a_kicked_guest_knocks_on_the_locked_room_on_another_node(
    nodes: tuple[Node, Node],
) -> None:
    """Removed by the host: its record goes, so its rejoin elsewhere is a stranger's."""
    a, b = nodes
    room = await a_room(a[0])
    host = await join(a, room, "Hanna Host", Role.MODERATOR)
    guest = await join(a, room, "Gus Guest", Role.PARTICIPANT)
    await host.command("lock")
    await host.command("kick", target=guest.id)
    await a[0].conferences.settled(room)
    await asyncio.sleep(0.1)  # the record's drop has run
    await kill(a)
    stored = await b[0].rooms.get_by_id(room.id)
    assert stored is not None
    again = await join_when_free(b, stored, "Gus Guest", Role.PARTICIPANT, resume=guest.token)
    assert again.knocking and again.id != guest.id
