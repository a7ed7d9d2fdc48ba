"""The whiteboard service (issue 12, F-RC1) over the real store and bus: boards of a room,
operations applied one at a time per board, stored before they are published, in one
order for everyone (concurrent pages converge), a restart keeps every board, moderators
clear and delete, and a Reset empties the room's boards."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from confero.app.boards import BoardService
from confero.app.services import Services
from confero.domain import boards as b
from confero.domain.errors import DomainError
from confero.domain.events import BoardChanged, BoardsListed, Event
from confero.domain.rooms import Room


@pytest.fixture
async def room(services: Services) -> Room:
    owner = await services.accounts.create("host@example.org", "long-secret", "Host")
    return await services.rooms.create(owner, "Studio")


def heard(services: Services) -> list[Event]:
    seen: list[Event] = []
    services.bus.subscribe(seen.append)
    return seen


def pen(item_id: str, x: float = 0.0) -> dict[str, Any]:
    return {
        "kind": "add",
        "item": {"id": item_id, "shape": "pen", "points": [[x, 0], [x + 5, 5]], "color": "#ff0000"},
    }


async def test_create_list_rename_publish_the_list(services: Services, room: Room) -> None:
    events = heard(services)
    boards = services.boards
    made = await boards.create(room.id, "  Sketch   one ", by="acc")
    assert made["name"] == "Sketch one" and made["seq"] == 0
    await boards.rename(room.id, made["id"], "Plan", by="acc")
    assert [x["name"] for x in await boards.list(room.id)] == ["Plan"]
    listed = [e for e in events if isinstance(e, BoardsListed)]
    assert [list(e.boards) for e in listed][-1] == [{"id": made["id"], "name": "Plan", "seq": 0}]
    with pytest.raises(DomainError) as bad:
        await boards.create(room.id, "   ")
    assert bad.value.code == "board.invalid_name"
    with pytest.raises(DomainError) as other:
        await boards.rename("someone-elses-room", made["id"], "Mine")
    assert other.value.code == "board.not_found"


async def test_a_room_holds_at_most_max_boards(services: Services, room: Room) -> None:
    for n in range(b.MAX_BOARDS):
        await services.boards.create(room.id, f"B{n}")
    with pytest.raises(DomainError) as full:
        await services.boards.create(room.id, "one too many")
    assert full.value.code == "board.full"


async def test_an_operation_is_stored_then_published_with_its_seq(
    services: Services, room: Room
) -> None:
    events = heard(services)
    board = await services.boards.create(room.id, "Live")
    seq = await services.boards.apply(room.id, board["id"], pen("s1"), by="ann")
    assert seq == 1
    changed = [e for e in events if isinstance(e, BoardChanged)]
    assert len(changed) == 1 and changed[0].seq == 1 and changed[0].by == "ann"
    item: Any = changed[0].op["item"]
    assert item["author"] == "ann"  # the server says who drew it
    async with services.uow() as uow:  # stored before it was published
        loaded = await uow.boards.load(board["id"])
    assert loaded is not None and list(loaded[0].items) == ["s1"] and loaded[0].seq == 1
    state = await services.boards.state(room.id, board["id"])
    assert state["seq"] == 1 and [i["id"] for i in state["items"]] == ["s1"]


async def test_bad_operations_change_nothing(services: Services, room: Room) -> None:
    board = await services.boards.create(room.id, "Strict")
    await services.boards.apply(room.id, board["id"], pen("ok"), by="ann")
    bad = pen("bad")
    bad["item"]["color"] = "red"
    for op, code in [
        (bad, "board.invalid"),
        ({"kind": "clear"}, "conference.moderator_only"),
        ({"kind": "paint"}, "board.invalid"),
        ({"kind": "remove", "ids": []}, "board.invalid"),
    ]:
        with pytest.raises(DomainError) as refused:
            await services.boards.apply(room.id, board["id"], op, by="ann")
        assert refused.value.code == code
    with pytest.raises(DomainError) as missing:
        await services.boards.apply(room.id, "f" * 32, pen("x"), by="ann")
    assert missing.value.code == "board.not_found"
    state = await services.boards.state(room.id, board["id"])
    assert state["seq"] == 1 and [i["id"] for i in state["items"]] == ["ok"]


async def test_concurrent_operations_get_one_order_and_survive_a_restart(
    services: Services, room: Room
) -> None:
    events = heard(services)
    board = await services.boards.create(room.id, "Busy")
    ops = [pen(f"a{n}", n) for n in range(15)] + [pen(f"b{n}", -n) for n in range(15)]
    seqs = await asyncio.gather(
        *(services.boards.apply(room.id, board["id"], op, by="x") for op in ops)
    )
    assert sorted(seqs) == list(range(1, 31))
    published = [e.seq for e in events if isinstance(e, BoardChanged)]
    assert published == list(range(1, 31))  # in the order applied
    order = [cast(Any, e.op["item"])["id"] for e in events if isinstance(e, BoardChanged)]
    await services.boards.apply(
        room.id, board["id"], {"kind": "move", "ids": ["a0", "b3"], "dx": 10, "dy": -2}, by="x"
    )
    await services.boards.apply(room.id, board["id"], {"kind": "remove", "ids": ["a1"]}, by="x")
    before = await services.boards.state(room.id, board["id"])
    # a new service over the same database: what a server restart sees
    fresh = BoardService(services.uow, services.bus, services.clock)
    after = await fresh.state(room.id, board["id"])
    fresh.close()
    assert after == before
    assert [i["id"] for i in after["items"]] == [i for i in order if i != "a1"]
    a0 = next(i for i in after["items"] if i["id"] == "a0")
    assert a0["points"] == [[10.0, -2.0], [15.0, 3.0]]


async def test_moderators_clear_and_delete(services: Services, room: Room) -> None:
    board = await services.boards.create(room.id, "Mod")
    await services.boards.apply(room.id, board["id"], pen("s"), by="ann")
    await services.boards.apply(room.id, board["id"], {"kind": "clear"}, by="m", moderator=True)
    assert (await services.boards.state(room.id, board["id"]))["items"] == []
    with pytest.raises(DomainError) as refused:
        await services.boards.delete(room.id, board["id"], moderator=False)
    assert refused.value.code == "conference.moderator_only"
    await services.boards.delete(room.id, board["id"], moderator=True)
    assert await services.boards.list(room.id) == []
    with pytest.raises(DomainError) as gone:
        await services.boards.apply(room.id, board["id"], pen("late"), by="ann")
    assert gone.value.code == "board.not_found"


async def test_reset_empties_the_rooms_boards_live_copies_included(
    services: Services, room: Room
) -> None:
    board = await services.boards.create(room.id, "Before")
    await services.boards.apply(room.id, board["id"], pen("s"), by="ann")
    await services.rooms.reset_content(room.id, by="host")
    assert await services.boards.list(room.id) == []
    with pytest.raises(DomainError) as gone:
        await services.boards.state(room.id, board["id"])
    assert gone.value.code == "board.not_found"
    with pytest.raises(DomainError):
        await services.boards.apply(room.id, board["id"], pen("after"), by="ann")
