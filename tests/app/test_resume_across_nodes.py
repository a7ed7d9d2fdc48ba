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
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import pytest

from confero.app.placement import NodeInfo
from confero.app.services import Services
from confero.app.session import ParticipantSession, Sessions
from confero.bus.redis_placement import RedisPlacement
from confero.bus.redis_tokens import RedisTokens
from confero.config import Settings
from confero.domain.errors import DomainError
from confero.domain.roles import Role
from confero.domain.rooms import Room
from confero.server import build
from tests.bus.redis_support import redis_for_test
from tests.clock import FakeClock

TTL_MS = 600
TTL = TTL_MS / 1000
Node = tuple[Services, Sessions[str]]


@pytest.fixture
async def nodes(
    tmp_path: Path, database_url: str, clock: FakeClock
) -> AsyncIterator[tuple[Node, Node]]:
    """Node a and node b, each with its browser sessions on the shared token store."""
    async with redis_for_test() as (client, keys):
        built: list[Node] = []
        try:
            for name in ("a", "b"):
                node = NodeInfo(name, f"http://node-{name}:8080", "10.0.0.1", 5060, "10.0.0.1")
                placement = RedisPlacement(client, node, keys=keys, ttl_ms=TTL_MS)
                settings = Settings(data_dir=tmp_path / name, database_url=database_url)
                services = await build(
                    settings, clock=clock, placement=placement, tokens=RedisTokens(client, keys)
                )
                sessions = Sessions[str](services.conferences, tokens=services.resume_tokens)
                services.bus.subscribe(sessions.observe)  # as the browser gateway does
                built.append((services, sessions))
            yield built[0], built[1]
        finally:
            for services, sessions in built:
                sessions.close()
                await services.close()


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
    deadline = loop.time() + TTL + 2.0
    while True:
        try:
            return await join(node, room, name, role, resume)
        except DomainError as exc:
            assert exc.code == "conference.elsewhere", exc
            assert loop.time() < deadline, "the room never came free"
            await asyncio.sleep(0.05)


async def kill(node: Node) -> None:
    """The node stops answering: no heartbeat, its lease lapses within ``TTL``."""
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
