"""The panel's list of running meetings across nodes (issue 16, F-SC2; app/running.py,
the ``publish``/``meetings`` port of app/placement.py, bus/redis_placement.py).

Two nodes (two service stacks on one database) on the real Redis. What a host notices:
the room list served by node b shows a meeting node a runs as running, with the people
in it, follows joins and leaves, and shows it ended once it ends on a, or once a hung
and its lease lapsed. The summary lives under the lease: written only by the holder,
renewed with the heartbeat, gone with a release or a new claim.

The database is PostgreSQL when ``CONFERO_TEST_DATABASE_URL`` names one (CI), else one
SQLite file both stacks open."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

import httpx
import pytest

from confero.app.placement import LISTED, Attendee, MeetingSummary, NodeInfo
from confero.app.services import Services
from confero.bus.redis_placement import RedisPlacement
from confero.domain import commands as c
from confero.domain.errors import DomainError
from confero.domain.roles import Role
from confero.domain.rooms import Room
from confero.web.api.rooms import MeetingOut
from confero.web.app import create_app
from tests.app.conftest import LEASE, LEASE_MS
from tests.bus.redis_support import redis_for_test
from tests.web.support import PASSWORD, bearer_headers

HOST = "host@example.org"
IDLE = {"running": False, "participants": []}


class Panel:
    """The host's panel on one node: its room list over the node's REST API."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    async def meeting(self, room: Room) -> dict[str, Any]:
        response = await self.client.get("/api/v1/rooms", headers=self.headers)
        assert response.status_code == 200, response.text
        (listed,) = [r for r in response.json() if r["id"] == room.id]
        meeting: dict[str, Any] = listed["meeting"]
        return meeting

    async def shows(self, room: Room, expected: dict[str, Any], within: float = 2.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while (seen := await self.meeting(room)) != expected:
            assert loop.time() < deadline, f"the panel shows {seen}, not {expected}"
            await asyncio.sleep(0.02)


@pytest.fixture
async def panels(two_nodes: tuple[Services, Services]) -> AsyncIterator[tuple[Panel, Panel]]:
    """The host's panel on node a and on node b."""
    a, _ = two_nodes
    await a.accounts.create(HOST, PASSWORD, "Host")
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(node)), base_url="http://t")
        for node in two_nodes
    ]
    try:
        made = [Panel(cl, await bearer_headers(cl, HOST, PASSWORD)) for cl in clients]
        yield made[0], made[1]
    finally:
        for cl in clients:
            await cl.aclose()


async def a_room(node: Services) -> Room:
    host = await node.accounts.by_email(HOST) or await node.accounts.create(HOST, PASSWORD, "Host")
    return await node.rooms.create(host, "Weekly")


async def join(node: Services, room: Room, name: str, channel: str) -> str:
    pid, _ = await node.conferences.join(
        room, display_name=name, role=Role.MODERATOR, channel=channel, identity=name
    )
    return pid


def people(*named: tuple[str, str]) -> dict[str, Any]:
    return {
        "running": True,
        "participants": [{"display_name": n, "channel": ch} for n, ch in named],
    }


async def test_a_meeting_on_one_node_is_listed_on_the_other_until_it_ends(
    two_nodes: tuple[Services, Services], panels: tuple[Panel, Panel]
) -> None:
    a, b = two_nodes
    on_a, on_b = panels
    room = await a_room(a)
    assert await on_b.meeting(room) == IDLE

    ann = await join(a, room, "Ann", "browser")
    bob = await join(a, room, "Bob", "phone")
    both = people(("Ann", "browser"), ("Bob", "phone"))
    await on_b.shows(room, both)
    assert await on_a.meeting(room) == both, "the owner's own list, as before"
    assert b.registry.get(room.id) is None, "b only reads; a runs it"

    await asyncio.sleep(2 * LEASE)  # the heartbeat keeps the summary as long as the lease
    assert await on_b.meeting(room) == both

    await a.conferences.command(room, c.Leave(by=bob))
    await on_b.shows(room, people(("Ann", "browser")))
    await a.conferences.command(room, c.Leave(by=ann))  # the last one: it ends on a
    await on_b.shows(room, IDLE, within=0.5)  # gone with the lease, not after its time


async def test_a_hung_owners_meeting_leaves_the_list_with_its_lease(
    two_nodes: tuple[Services, Services], panels: tuple[Panel, Panel]
) -> None:
    a, _ = two_nodes
    _, on_b = panels
    room = await a_room(a)
    await join(a, room, "Ann", "browser")
    await on_b.shows(room, people(("Ann", "browser")))

    await cast(RedisPlacement, a.registry.placement).stop()  # a hangs: no heartbeat
    await on_b.shows(room, IDLE, within=LEASE + 0.5)


async def test_a_locked_meeting_with_a_knocker_is_summarised_by_its_owner(
    two_nodes: tuple[Services, Services],
) -> None:
    a, b = two_nodes
    room = await a_room(a)
    ann = await join(a, room, "Ann", "browser")
    await a.conferences.command(room, c.Lock(by=ann))
    _, events = await a.conferences.join(
        room, display_name="Kim", role=Role.PARTICIPANT, channel="phone", identity="kim"
    )
    assert events, "Kim knocks"

    async def seen() -> MeetingSummary | None:
        return (await b.conferences.meetings([room.id])).get(room.id)

    await eventually_true(seen, lambda s: s is not None and s.lobby == 1)
    summary = await seen()
    assert summary is not None
    assert (summary.participants, summary.lobby, summary.locked) == (1, 1, True)
    assert summary.attendees == (Attendee("Ann", "browser"),)


async def eventually_true(
    read: Callable[[], Awaitable[Any]], check: Callable[[Any], bool], within: float = 2.0
) -> None:
    """Wait until ``check`` holds for what ``read`` reads."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check(await read()):
        assert loop.time() < deadline, "the expected summary never came"
        await asyncio.sleep(0.02)


# ------------------------------------------------------------------- the port in Redis
def big_meeting(conference_id: str = "c1") -> MeetingSummary:
    """More people than another node lists: the count says how many."""
    names = tuple(Attendee(f"Person {i}", "phone") for i in range(LISTED))
    return MeetingSummary(conference_id, LISTED + 50, lobby=3, locked=False, attendees=names)


async def test_only_the_holder_publishes_and_a_release_or_a_new_claim_drops_it() -> None:
    async with redis_for_test() as (client, keys):
        a = RedisPlacement(client, NodeInfo("a", "", "h", 1, "h"), keys=keys, ttl_ms=LEASE_MS)
        b = RedisPlacement(client, NodeInfo("b", "", "h", 2, "h"), keys=keys, ttl_ms=LEASE_MS)
        await a.start()
        await b.start()
        try:
            await b.publish("r1", big_meeting())  # b holds no lease: nothing shown
            assert await a.meetings(["r1"]) == {}

            assert (await a.claim("r1")).node_id == "a"
            await a.publish("r1", big_meeting())
            assert await b.meetings(["r1", "r2"]) == {"r1": big_meeting()}
            out = MeetingOut.of(big_meeting())
            assert (len(out.participants), out.participant_count) == (LISTED, LISTED + 50)

            await a.release("r1")  # the conference ended
            assert await b.meetings(["r1"]) == {}

            for room in ("r1", "r2"):
                await a.claim(room)
                await a.publish(room, big_meeting())
            await a.stop()  # a hangs: no heartbeat
            await client.delete(keys.of("node", "a"))  # ... and its entry is gone
            assert (await b.claim("r2")).node_id == "b"
            assert await b.meetings(["r1", "r2"]) == {"r1": big_meeting()}, "not a's in r2"
            await asyncio.sleep(LEASE + 0.1)
            assert await b.meetings(["r1"]) == {}, "a's lease lapsed, and its meeting with it"
        finally:
            await a.close()
            await b.close()


def test_a_summary_cannot_list_more_people_than_are_in() -> None:
    with pytest.raises(ValueError):
        MeetingSummary("c1", 1, lobby=0, locked=False, attendees=(Attendee("A", "x"),) * 2)


async def test_a_refused_publish_is_retried_on_the_next_change(
    two_nodes: tuple[Services, Services],
) -> None:
    """Redis out of reach for one publish: the next join publishes the meeting."""
    a, b = two_nodes
    room = await a_room(a)
    placement = cast(RedisPlacement, a.registry.placement)
    publish = placement.publish
    refused: list[str] = []

    async def once_unreachable(room_id: str, summary: MeetingSummary) -> None:
        if not refused:
            refused.append(room_id)
            raise DomainError("conference.busy", "the store is out of reach")
        await publish(room_id, summary)

    async def refusals() -> list[str]:
        return refused

    placement.publish = once_unreachable  # type: ignore[method-assign]
    await join(a, room, "Ann", "browser")
    await eventually_true(refusals, bool)
    assert await b.conferences.meetings([room.id]) == {}
    await join(a, room, "Bob", "phone")
    await eventually_true(
        lambda: b.conferences.meetings([room.id]),
        lambda found: room.id in found and found[room.id].participants == 2,
    )
