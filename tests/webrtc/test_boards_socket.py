"""Whiteboards on the meeting socket (issue 12, docs/SIGNALING.md "Boards"), over a served
node: a member uses boards before joining, a guest only once in the meeting; every board
message is schema-checked, size-limited and rate-limited per socket; the other pages get
each operation as ``board_changed``; a guest outside the meeting and a third account get
nothing."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from confero.domain.rooms import Room
from confero.webrtc.board_messages import author_key
from tests.phone.support import eventually
from tests.webrtc.support import Browser, Served
from tests.webrtc.test_call_room import cookie


def stroke(item_id: str, x: float = 0) -> dict[str, Any]:
    return {
        "kind": "add",
        "item": {"id": item_id, "shape": "pen", "points": [[x, 1], [x + 2, 3]], "width": 2},
    }


async def member(served: Served, room: Room) -> Browser:
    owner = await served.services.accounts.by_email("host@example.org")
    assert owner is not None
    token = await served.services.accounts.issue_token(owner, "session")
    page = Browser(served.ws_url(room), cookie=f"confero_session={token}")
    await page.connect()
    return page


async def test_a_member_draws_before_joining_and_a_joined_guest_sees_it(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    host = await member(served, room)
    browsers.append(host)
    await host.send(type="board_create", name="Plan", ref="c")
    made = (await host.expect("result", ref="c"))["board"]
    listed = await host.event("boards_listed")
    assert [x["name"] for x in listed["boards"]] == ["Plan"]

    guest = Browser(served.ws_url(room))
    browsers.append(guest)
    await guest.connect()
    await guest.send(type="board_list", ref="l")
    refused = await guest.expect("error", ref="l")
    assert refused["code"] == "conference.not_joined"
    await guest.join("Gus")
    await guest.send(type="board_list", ref="l2")
    assert [x["id"] for x in (await guest.expect("boards", ref="l2"))["boards"]] == [made["id"]]
    await guest.send(type="board_open", board_id=made["id"], ref="o")
    opened = await guest.expect("board_state", ref="o")
    assert opened["seq"] == 0 and opened["items"] == [] and opened["name"] == "Plan"

    loop = asyncio.get_running_loop()
    started = loop.time()
    await host.send(type="board_op", board_id=made["id"], op=stroke("h1"), ref="op")
    assert (await host.expect("result", ref="op"))["seq"] == 1
    seen = await guest.event("board_changed", board_id=made["id"])
    assert loop.time() - started < 1.0
    assert seen["seq"] == 1 and seen["op"]["item"]["id"] == "h1"
    host_account = await served.services.accounts.by_email("host@example.org")
    assert host_account is not None
    author = seen["op"]["item"]["author"]
    assert author == author_key(room.id, host_account.id), "the host's, in this room"
    assert host_account.id not in json.dumps(seen), "no account id for a guest (issue 14)"

    # the guest is no moderator: no clear; its erasing works
    await guest.send(type="board_op", board_id=made["id"], op={"kind": "clear"}, ref="clr")
    assert (await guest.expect("error", ref="clr"))["code"] == "conference.moderator_only"
    await guest.send(type="board_op", board_id=made["id"], op={"kind": "remove", "ids": ["h1"]})
    gone = await host.event("board_changed", seq=2)
    assert gone["op"] == {"kind": "remove", "ids": ["h1"]}
    await guest.send(type="board_delete", board_id=made["id"], ref="d")
    assert (await guest.expect("error", ref="d"))["code"] == "conference.moderator_only"
    await host.send(type="board_delete", board_id=made["id"], ref="d2")
    await host.expect("result", ref="d2")
    assert (await guest.event("boards_listed"))["boards"] == []


async def test_outsiders_get_no_board_and_no_board_news(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    host = await member(served, room)
    browsers.append(host)
    await host.send(type="board_create", name="Secret", ref="c")
    board_id = (await host.expect("result", ref="c"))["board"]["id"]
    await host.join()  # a meeting runs; the outsiders stay on the room page

    _, third = await cookie(served.services, "cat@example.org")
    outsiders = [Browser(served.ws_url(room)), Browser(served.ws_url(room), cookie=third)]
    for page in outsiders:
        browsers.append(page)
        await page.connect()
        for ref, message in (
            ("l", {"type": "board_list"}),
            ("o", {"type": "board_open", "board_id": board_id}),
            ("p", {"type": "board_op", "board_id": board_id, "op": stroke("x")}),
            ("c", {"type": "board_create", "name": "Mine"}),
        ):
            await page.send(ref=ref, **message)
            assert (await page.expect("error", ref=ref))["code"] == "conference.not_joined"
    await host.send(type="board_op", board_id=board_id, op=stroke("s"), ref="op")
    await host.expect("result", ref="op")
    await host.event("board_changed")
    await asyncio.sleep(0.3)
    for page in outsiders:
        news = [m for m in page.messages if m.get("event", "").startswith("board")]
        assert news == []
    assert (await served.services.boards.state(room.id, board_id))["seq"] == 1


async def test_board_messages_are_checked_limited_and_rate_limited(
    served: Served, room: Room, browsers: list[Browser]
) -> None:
    host = await member(served, room)
    browsers.append(host)
    await host.send(type="board_create", name="Checks", ref="c")
    board_id = (await host.expect("result", ref="c"))["board"]["id"]
    bad_ops: list[dict[str, Any]] = [
        {"kind": "add", "item": {"id": "a", "shape": "blob", "points": [[0, 0], [1, 1]]}},
        {"kind": "add", "item": {"id": "a b", "shape": "pen", "points": [[0, 0], [1, 1]]}},
        {"kind": "add", "item": {"id": "a", "shape": "pen", "points": [[1e9, 0], [1, 1]]}},
        {"kind": "add", "item": {"id": "a", "shape": "pen", "points": [[0, 0]], "x": 1}},
        {"kind": "move", "ids": ["a"], "dx": "far", "dy": 0},
        {"kind": "remove", "ids": []},
        {"kind": "explode"},
    ]
    for n, op in enumerate(bad_ops):
        await host.send(type="board_op", board_id=board_id, op=op, ref=f"b{n}")
        assert (await host.expect("error", ref=f"b{n}"))["code"] == "signaling.invalid", op
    # NaN is not JSON, but Python's parser reads it: refused all the same
    text = json.dumps(
        {"v": 1, "type": "board_op", "ref": "nan", "board_id": board_id, "op": {"kind": "move"}}
    )
    await host.ws.send(text.replace('"move"', '"move", "ids": ["a"], "dx": NaN, "dy": 0'))
    assert (await host.expect("error", ref="nan"))["code"] == "signaling.invalid"
    # a pen of one point is schema-valid but no stroke: the domain says so
    one = {"kind": "add", "item": {"id": "a", "shape": "pen", "points": [[0, 0]]}}
    await host.send(type="board_op", board_id=board_id, op=one, ref="one")
    assert (await host.expect("error", ref="one"))["code"] == "board.invalid"
    # over the socket's 64 KiB
    text_item = {"id": "h", "shape": "text", "points": [[0, 0]], "text": "x" * 70_000}
    huge = {"kind": "add", "item": text_item}
    await host.ws.send(
        json.dumps({"v": 1, "type": "board_op", "ref": "huge", "board_id": board_id, "op": huge})
    )
    assert (await host.expect("error"))["code"] == "signaling.too_large"
    await host.send(type="board_open", board_id="0" * 32, ref="nf")
    assert (await host.expect("error", ref="nf"))["code"] == "board.not_found"
    assert (await served.services.boards.state(room.id, board_id))["seq"] == 0

    # 100 messages per 5 s per socket, then board.rate_limited
    for n in range(120):
        await host.send(type="board_op", board_id=board_id, op=stroke(f"r{n}", n), ref=f"r{n}")
    answers: dict[str, dict[str, Any]] = {}

    def all_answered() -> bool:
        answers.update({m["ref"]: m for m in host.messages if str(m.get("ref")).startswith("r")})
        return len(answers) == 120

    await eventually(all_answered)
    done = [n for n in range(120) if answers[f"r{n}"]["type"] == "result"]
    limited = [n for n in range(120) if answers[f"r{n}"].get("code") == "board.rate_limited"]
    # create and the two refused opens and ops counted too: 97 strokes got through
    assert done == list(range(97)) and limited == list(range(97, 120))
    assert answers["r100"]["retry_after"] >= 1
    state = await served.services.boards.state(room.id, board_id)
    assert state["seq"] == 97
