"""Room chat over REST: it belongs to the room, so it works with no conference running
(F-EN8), and pages from newest to oldest."""

from __future__ import annotations

from typing import Any

import httpx

from tests.web.support import User, add_member, assert_problem, conference, create_room, join


async def post(client: httpx.AsyncClient, user: User, room_id: str, text: str) -> httpx.Response:
    return await client.post(
        f"/api/v1/rooms/{room_id}/chat", json={"text": text}, headers=user.headers
    )


async def page(
    client: httpx.AsyncClient, user: User, room_id: str, **params: int
) -> dict[str, Any]:
    response = await client.get(
        f"/api/v1/rooms/{room_id}/chat", params=params, headers=user.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_chat_works_with_no_conference_running(
    client: httpx.AsyncClient, admin: User, other: User
) -> None:
    room = await create_room(client, admin)
    await add_member(client, admin, room["id"], other, "participant")
    assert (await conference(client, admin, room["id"]))["running"] is False

    first = await post(client, admin, room["id"], "  Shall we rejoin at 15:00?  ")
    assert first.status_code == 201, first.text
    message = first.json()
    assert message["text"] == "Shall we rejoin at 15:00?"
    assert message["author_name"] == "Ada Admin"
    assert message["account_id"] == admin.id
    reply = await post(client, other, room["id"], "Yes, 15:00 works")
    assert reply.status_code == 201, reply.text

    seen = await page(client, other, room["id"])
    assert [(m["author_name"], m["text"]) for m in seen["messages"]] == [
        ("Bob Other", "Yes, 15:00 works"),
        ("Ada Admin", "Shall we rejoin at 15:00?"),
    ]
    assert seen["next_before"] is None
    assert (await conference(client, admin, room["id"]))["running"] is False


async def test_chat_outlives_the_conference(client: httpx.AsyncClient, admin: User) -> None:
    room = await create_room(client, admin)
    pid = await join(client, admin, room["id"])
    assert (await post(client, admin, room["id"], "notes from the call")).status_code == 201
    await client.post(
        f"/api/v1/rooms/{room['id']}/conference/commands",
        json={"command": "leave", "participant_id": pid},
        headers=admin.headers,
    )
    assert (await conference(client, admin, room["id"]))["running"] is False
    texts = [m["text"] for m in (await page(client, admin, room["id"]))["messages"]]
    assert texts == ["notes from the call"]


async def test_chat_pages_from_newest_to_oldest(client: httpx.AsyncClient, admin: User) -> None:
    room = await create_room(client, admin)
    texts = [f"message {n}" for n in range(1, 6)]
    for text in texts:
        assert (await post(client, admin, room["id"], text)).status_code == 201

    seen: list[str] = []
    pages = 0
    params: dict[str, int] = {"limit": 2}
    while True:
        body = await page(client, admin, room["id"], **params)
        pages += 1
        assert len(body["messages"]) <= 2
        seen += [m["text"] for m in body["messages"]]
        if body["next_before"] is None:
            break
        params = {"limit": 2, "before": body["next_before"]}
        assert pages < 10
    assert seen == list(reversed(texts))
    assert pages == 3

    everything = await page(client, admin, room["id"])
    assert [m["text"] for m in everything["messages"]] == list(reversed(texts))
    older = await page(client, admin, room["id"], before=everything["messages"][1]["id"])
    assert [m["text"] for m in older["messages"]] == ["message 3", "message 2", "message 1"]


async def test_the_last_page_says_it_is_the_last(client: httpx.AsyncClient, admin: User) -> None:
    room = await create_room(client, admin)
    for n in range(4):
        await post(client, admin, room["id"], f"message {n}")

    first = await page(client, admin, room["id"], limit=2)
    assert first["next_before"] is not None
    second = await page(client, admin, room["id"], limit=2, before=first["next_before"])
    assert [m["text"] for m in second["messages"]] == ["message 1", "message 0"]
    # Nothing older is left: no page should be promised.
    assert second["next_before"] is None
    exact = await page(client, admin, room["id"], limit=4)
    assert len(exact["messages"]) == 4 and exact["next_before"] is None


async def test_empty_or_oversized_messages_are_refused(
    client: httpx.AsyncClient, admin: User
) -> None:
    room = await create_room(client, admin)
    for text in ("", "   \n\t ", "x" * 4001):
        assert_problem(await post(client, admin, room["id"], text), 422, "chat.invalid_text")
    missing = await client.post(f"/api/v1/rooms/{room['id']}/chat", json={}, headers=admin.headers)
    assert_problem(missing, 422, "request.invalid")
    assert (await page(client, admin, room["id"]))["messages"] == []
    assert (await post(client, admin, room["id"], "x" * 4000)).status_code == 201


async def test_page_size_is_bounded(client: httpx.AsyncClient, admin: User) -> None:
    room = await create_room(client, admin)
    url = f"/api/v1/rooms/{room['id']}/chat"
    for params in ({"limit": 0}, {"limit": 201}, {"before": 0}, {"limit": "many"}):
        response = await client.get(url, params=params, headers=admin.headers)
        assert_problem(response, 422, "request.invalid")
