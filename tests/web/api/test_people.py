"""Contacts, the directory and room members over REST (issue 11; F-WB3, F-WB4): every
answer has the presence of each person, bad input is a problem+json with a stable code
and changes nothing, and another site's page cannot use the panel's cookie."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from confero.app.services import Services
from confero.web.deps import SESSION_COOKIE
from tests.web.support import PASSWORD, User, add_member, assert_problem, create_room, make_user

EVIL = "https://evil.example"


async def contacts(client: httpx.AsyncClient, user: User) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/contacts", headers=user.headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


async def members(client: httpx.AsyncClient, user: User, room_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/rooms/{room_id}/members", headers=user.headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def contact(user: User, source: str) -> dict[str, Any]:
    return {
        "account_id": user.id,
        "display_name": user.display_name,
        "email": user.email,
        "source": source,
        "presence": "offline",
    }


def member(user: User, role: str, is_owner: bool = False) -> dict[str, Any]:
    return {
        "account_id": user.id,
        "display_name": user.display_name,
        "email": user.email,
        "role": role,
        "is_owner": is_owner,
        "presence": "offline",
    }


# ------------------------------------------------------------------ contacts


async def test_contacts_are_room_co_members_and_added_accounts(
    client: httpx.AsyncClient, admin: User, other: User, third: User
) -> None:
    assert await contacts(client, admin) == []
    room = await create_room(client, admin)
    await add_member(client, admin, room["id"], other, "participant")

    assert await contacts(client, admin) == [contact(other, "room")]
    assert await contacts(client, other) == [contact(admin, "room")]

    added = await client.post(
        "/api/v1/contacts", json={"account_id": third.id}, headers=admin.headers
    )
    assert added.status_code == 201, added.text
    assert added.json() == contact(third, "added")
    by_email = await client.post(
        "/api/v1/contacts", json={"email": other.email.upper()}, headers=admin.headers
    )
    assert by_email.json() == contact(other, "added")
    assert await contacts(client, admin) == [contact(other, "added"), contact(third, "added")]
    assert await contacts(client, third) == []  # adding is one way

    gone = await client.delete(f"/api/v1/contacts/{third.id}", headers=admin.headers)
    assert gone.status_code == 204 and gone.content == b""
    await client.delete(f"/api/v1/contacts/{other.id}", headers=admin.headers)
    # Other still shares the room: a room contact stays.
    assert await contacts(client, admin) == [contact(other, "room")]


async def test_bad_contact_requests_are_problems_and_change_nothing(
    client: httpx.AsyncClient, admin: User, other: User
) -> None:
    url = "/api/v1/contacts"
    for body in (
        {"account_id": admin.id},
        {"email": admin.email},
        {"account_id": "nobody"},
        {"email": "nobody@example.org"},
        {"email": "not an address"},
        {},
        {"account_id": other.id, "email": other.email},
    ):
        answer = await client.post(url, json=body, headers=admin.headers)
        assert_problem(answer, 422, "contact.invalid")
    assert_problem(
        await client.post(url, json={"account_id": "x" * 65}, headers=admin.headers),
        422,
        "request.invalid",
    )
    assert_problem(
        await client.post(url, content=b"{not json", headers=admin.headers),
        422,
        "request.invalid",
    )
    assert_problem(
        await client.delete(f"{url}/{other.id}", headers=admin.headers), 404, "contact.not_found"
    )
    assert await contacts(client, admin) == []


async def test_people_are_for_signed_in_accounts_only(
    client: httpx.AsyncClient, admin: User
) -> None:
    room = await create_room(client, admin)
    for method, path, body in (
        ("GET", "/api/v1/contacts", None),
        ("POST", "/api/v1/contacts", {"account_id": admin.id}),
        ("DELETE", f"/api/v1/contacts/{admin.id}", None),
        ("GET", "/api/v1/directory?q=ada", None),
        ("GET", f"/api/v1/rooms/{room['id']}/members", None),
        ("PUT", f"/api/v1/rooms/{room['id']}/members/{admin.id}", {"role": "moderator"}),
        ("DELETE", f"/api/v1/rooms/{room['id']}/members/{admin.id}", None),
    ):
        answer = await client.request(method, path, json=body)
        assert_problem(answer, 401, "auth.required")


async def test_the_directory_searches_names_and_emails(
    client: httpx.AsyncClient, admin: User, other: User, third: User
) -> None:
    async def search(q: str, **params: Any) -> httpx.Response:
        return await client.get(
            "/api/v1/directory", params={"q": q, **params}, headers=admin.headers
        )

    assert (await search("")).json() == []
    assert (await search("b")).json() == []  # two characters at least
    assert (await search("BOB")).json() == [contact(other, "directory")]
    assert (await search("@example.org")).json() == [
        contact(other, "directory"),
        contact(third, "directory"),
    ]
    assert (await search("example", limit=1)).json() == [contact(other, "directory")]
    assert (await search("ada")).json() == []  # oneself never
    assert_problem(await search("x" * 255), 422, "request.invalid")
    assert_problem(await search("bob", limit=0), 422, "request.invalid")
    assert_problem(await search("bob", limit=51), 422, "request.invalid")


# ------------------------------------------------------------------ room members


async def test_members_with_presence_for_everyone_in_the_room(
    client: httpx.AsyncClient, admin: User, other: User, third: User
) -> None:
    room = await create_room(client, admin)
    url = f"/api/v1/rooms/{room['id']}/members"
    assert await members(client, admin, room["id"]) == [member(admin, "moderator", True)]

    put = await client.put(f"{url}/{third.id}", json={"role": "participant"}, headers=admin.headers)
    assert put.status_code == 200, put.text
    await client.put(f"{url}/{other.id}", json={"role": "moderator"}, headers=admin.headers)
    expected = [
        member(admin, "moderator", True),
        member(other, "moderator"),
        member(third, "participant"),
    ]
    for viewer in (admin, other, third):
        assert await members(client, viewer, room["id"]) == expected

    # The moderator member changes roles and removes; each answer is the new list.
    promoted = await client.put(
        f"{url}/{third.id}", json={"role": "moderator"}, headers=other.headers
    )
    assert promoted.json()[2] == member(third, "moderator")
    removed = await client.delete(f"{url}/{third.id}", headers=other.headers)
    assert removed.status_code == 200
    assert removed.json() == expected[:2]
    # The old room answer knows the members too.
    room_now = (await client.get(f"/api/v1/rooms/{room['id']}", headers=admin.headers)).json()
    assert room_now["members"] == {other.id: "moderator"}
    # Leaving oneself: nothing left to show.
    left = await client.delete(f"{url}/{other.id}", headers=other.headers)
    assert left.status_code == 200 and left.json() == []
    assert_problem(await client.get(url, headers=other.headers), 404, "room.not_found")


async def test_bad_member_changes_are_problems_and_change_nothing(
    client: httpx.AsyncClient, admin: User, other: User, third: User
) -> None:
    room = await create_room(client, admin)
    url = f"/api/v1/rooms/{room['id']}/members"
    await client.put(f"{url}/{other.id}", json={"role": "participant"}, headers=admin.headers)
    before = await members(client, admin, room["id"])

    owner = f"{url}/{admin.id}"
    assert_problem(
        await client.put(owner, json={"role": "participant"}, headers=admin.headers),
        422,
        "room.owner_is_moderator",
    )
    assert_problem(
        await client.delete(owner, headers=admin.headers), 422, "room.owner_is_moderator"
    )
    assert_problem(
        await client.put(f"{url}/{third.id}", json={"role": "owner"}, headers=admin.headers),
        422,
        "room.invalid_role",
    )
    assert_problem(
        await client.put(f"{url}/{third.id}", json={}, headers=admin.headers),
        422,
        "request.invalid",
    )
    assert_problem(
        await client.put(f"{url}/nobody", json={"role": "participant"}, headers=admin.headers),
        404,
        "account.not_found",
    )
    # A participant member does not edit members; an outsider does not see the room.
    assert_problem(
        await client.put(f"{url}/{third.id}", json={"role": "moderator"}, headers=other.headers),
        403,
        "auth.forbidden",
    )
    assert_problem(await client.delete(owner, headers=other.headers), 403, "auth.forbidden")
    assert_problem(await client.get(url, headers=third.headers), 404, "room.not_found")
    assert_problem(
        await client.put(f"{url}/{third.id}", json={"role": "moderator"}, headers=third.headers),
        404,
        "room.not_found",
    )
    assert await members(client, admin, room["id"]) == before


async def test_a_call_room_hides_from_lists_and_keeps_its_two_people(
    client: httpx.AsyncClient, services: Services, admin: User, other: User, third: User
) -> None:
    caller = await services.accounts.get(admin.id)
    callee = await services.accounts.get(other.id)
    assert caller is not None and callee is not None
    call = await services.rooms.create_call_room(caller, callee)

    assert (await client.get("/api/v1/rooms", headers=admin.headers)).json() == []
    assert (await client.get("/api/v1/rooms", headers=other.headers)).json() == []
    assert await contacts(client, admin) == []  # a call room makes no contacts
    url = f"/api/v1/rooms/{call.id}/members"
    assert await members(client, other, call.id) == [
        member(admin, "moderator", True),
        member(other, "moderator"),
    ]
    assert_problem(
        await client.put(f"{url}/{third.id}", json={"role": "participant"}, headers=other.headers),
        403,
        "auth.forbidden",
    )
    assert_problem(await client.get(url, headers=third.headers), 404, "room.not_found")


# ------------------------------------------------------------------ another site's page


@pytest.fixture
async def cookie(client: httpx.AsyncClient, admin: User) -> dict[str, str]:
    """The session cookie of a signed-in panel, as a header."""
    response = await client.post(
        "/api/v1/session", json={"email": admin.email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    token = response.cookies[SESSION_COOKIE]
    client.cookies.clear()
    return {"Cookie": f"{SESSION_COOKIE}={token}"}


async def test_a_foreign_page_cannot_change_contacts_or_members(
    client: httpx.AsyncClient, services: Services, admin: User, other: User, cookie: dict[str, str]
) -> None:
    room = await create_room(client, admin)
    url = f"/api/v1/rooms/{room['id']}/members"
    await client.put(f"{url}/{other.id}", json={"role": "participant"}, headers=admin.headers)
    await client.post("/api/v1/contacts", json={"account_id": other.id}, headers=admin.headers)
    evil = {**cookie, "Origin": EVIL}
    third = await make_user(services, client, "cleo@example.org", "Cleo Third")

    for method, path, body in (
        ("POST", "/api/v1/contacts", {"account_id": third.id}),
        ("DELETE", f"/api/v1/contacts/{other.id}", None),
        ("PUT", f"{url}/{other.id}", {"role": "moderator"}),
        ("PUT", f"{url}/{third.id}", {"role": "moderator"}),
        ("DELETE", f"{url}/{other.id}", None),
    ):
        answer = await client.request(method, path, json=body, headers=evil)
        assert_problem(answer, 403, "auth.cross_site")
    assert await contacts(client, admin) == [contact(other, "added")]
    assert await members(client, admin, room["id"]) == [
        member(admin, "moderator", True),
        member(other, "participant"),
    ]
    # Our own page, with the same cookie, may; reads are never refused.
    ours = {**cookie, "Origin": "http://testserver"}
    added = await client.post("/api/v1/contacts", json={"account_id": third.id}, headers=ours)
    assert added.status_code == 201, added.text
    assert (await client.get("/api/v1/contacts", headers=evil)).status_code == 200


# ------------------------------------------------------------------ presence and pushes


async def test_answers_carry_presence_and_changes_reach_the_open_pages(
    client: httpx.AsyncClient, services: Services, admin: User, other: User, third: User
) -> None:
    """Through the real people service (app/people.py): a page of Bob's is open."""
    room = await create_room(client, admin)
    await add_member(client, admin, room["id"], other, "participant")
    bob = await services.accounts.get(other.id)
    ada = await services.accounts.get(admin.id)
    assert bob is not None and ada is not None
    heard: list[dict[str, Any]] = []
    page = await services.people.open_page(bob, "bob-session", heard.append)
    own = await services.people.open_page(ada, "ada-session", heard.append)
    try:
        assert await contacts(client, admin) == [{**contact(other, "room"), "presence": "online"}]
        listed = await members(client, admin, room["id"])
        assert [m["presence"] for m in listed] == ["online", "online"]

        heard.clear()
        url = f"/api/v1/rooms/{room['id']}/members/{third.id}"
        assert (
            await client.put(url, json={"role": "participant"}, headers=admin.headers)
        ).status_code == 200
        # Both open pages (owner and member) are sent their new contact list.
        await eventually(lambda: _contact_lists(heard) >= 2)
    finally:
        await services.people.close_page(page)
        await services.people.close_page(own)
    assert (await contacts(client, admin))[0]["presence"] == "offline"


def _contact_lists(heard: list[dict[str, Any]]) -> int:
    return sum(1 for m in heard if m.get("type") == "contacts")


async def eventually(check: Callable[[], bool], within: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        assert loop.time() < deadline, "the expected change never happened"
        await asyncio.sleep(0.02)
