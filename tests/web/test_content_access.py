"""Who may see a room's content (web/content_access.py): members and the owner by their
account, participants of the running conference by their resume token, nobody else.
Real parts: the served node's browser gateway and scripted browsers joining over its
socket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict

import httpx
import pytest
from fastapi import FastAPI, Request

from confero.app.services import Services
from confero.domain.rooms import Room
from confero.web import problems
from confero.web.content_access import reader
from tests.phone.support import eventually, room
from tests.web.support import assert_problem
from tests.webrtc.support import Browser, Served, browsers, served

__all__ = ["browsers", "room", "served"]


@pytest.fixture
async def who(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    """A tiny app whose one route answers with the reader ``reader()`` finds."""
    app = FastAPI()
    app.state.services = served.services
    app.state.signaling = served.node.gateway
    problems.install(app)

    @app.get("/who/{room_id}")
    async def whoami(room_id: str, request: Request) -> dict[str, object]:
        return asdict(await reader(request, request.app.state.services, room_id))

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def bearer(services: Services, email: str, name: str) -> dict[str, str]:
    account = await services.accounts.create(email, "long-secret", name)
    return {"Authorization": f"Bearer {await services.accounts.issue_token(account, 'api')}"}


async def test_no_credentials_is_auth_required(who: httpx.AsyncClient, room: Room) -> None:
    assert_problem(await who.get(f"/who/{room.id}"), 401, "auth.required")


async def test_owner_and_members_read_by_their_account(
    who: httpx.AsyncClient, served: Served, room: Room
) -> None:
    svc = served.services
    owner = await svc.accounts.by_email("host@example.org")
    assert owner is not None
    owner_h = {"Authorization": f"Bearer {await svc.accounts.issue_token(owner, 'api')}"}
    member_h = await bearer(svc, "mia@example.org", "Mia")
    mod_h = await bearer(svc, "max@example.org", "Max")
    await svc.rooms.set_member(owner, room.id, "mia@example.org", "participant")
    await svc.rooms.set_member(owner, room.id, "max@example.org", "moderator")

    got = (await who.get(f"/who/{room.id}", headers=owner_h)).json()
    assert got == {
        "account_id": owner.id,
        "participant_id": None,
        "name": "Host",
        "moderator": True,
    }
    got = (await who.get(f"/who/{room.id}", headers=member_h)).json()
    assert got["name"] == "Mia" and got["moderator"] is False
    assert (await who.get(f"/who/{room.id}", headers=mod_h)).json()["moderator"] is True


async def test_a_third_account_and_a_missing_room_look_alike(
    who: httpx.AsyncClient, served: Served, room: Room
) -> None:
    third = await bearer(served.services, "tess@example.org", "Tess")
    assert_problem(await who.get(f"/who/{room.id}", headers=third), 404, "room.not_found")
    assert_problem(await who.get("/who/nope", headers=third), 404, "room.not_found")


async def test_a_guest_reads_while_in_the_meeting_and_not_after(
    who: httpx.AsyncClient, served: Served, room: Room, browsers: list[Browser]
) -> None:
    guest = Browser(served.ws_url(room))
    browsers.append(guest)
    await guest.connect()
    welcome = await guest.join("Gus")
    token = welcome["resume"]
    assert token

    got = await who.get(f"/who/{room.id}", headers={"X-Confero-Participant": token})
    assert got.status_code == 200, got.text
    assert got.json() == {
        "account_id": None,
        "participant_id": guest.pid,
        "name": "Gus",
        "moderator": False,
    }
    # a download link carries it in the query
    got = await who.get(f"/who/{room.id}", params={"participant": token})
    assert got.json()["participant_id"] == guest.pid

    # the same token names nobody in another room; a made-up token nobody anywhere
    other = await served.services.rooms.create(
        (await served.services.accounts.by_email("host@example.org")),  # type: ignore[arg-type]
        "Other",
    )
    headers = {"X-Confero-Participant": token}
    assert_problem(await who.get(f"/who/{other.id}", headers=headers), 404, "room.not_found")
    bogus = {"X-Confero-Participant": "x" * 32}
    assert_problem(await who.get(f"/who/{room.id}", headers=bogus), 404, "room.not_found")
    long = {"X-Confero-Participant": "x" * 500}
    assert_problem(await who.get(f"/who/{room.id}", headers=long), 401, "auth.required")

    await guest.send(type="leave", ref="l")
    await guest.expect("left", ref="l")

    async def gone() -> bool:
        r = await who.get(f"/who/{room.id}", headers=headers)
        return r.status_code == 404

    await eventually(gone, 5)
    assert_problem(await who.get(f"/who/{room.id}", headers=headers), 404, "room.not_found")


async def test_a_moderator_participant_is_a_moderator(
    who: httpx.AsyncClient, served: Served, room: Room, browsers: list[Browser]
) -> None:
    """The owner joins with the account cookie: the conference makes it moderator, and its
    token alone (no account header) says so."""
    svc = served.services
    owner = await svc.accounts.by_email("host@example.org")
    assert owner is not None
    cookie = f"confero_session={await svc.accounts.issue_token(owner, 'session')}"
    host = Browser(served.ws_url(room), cookie=cookie)
    browsers.append(host)
    await host.connect()
    welcome = await host.join("Host")
    assert welcome["role"] == "moderator"
    got = await who.get(f"/who/{room.id}", headers={"X-Confero-Participant": welcome["resume"]})
    assert got.json() == {
        "account_id": None,
        "participant_id": host.pid,
        "name": "Host",
        "moderator": True,
    }
