"""Helpers shared by the web tests: accounts speaking through bearer tokens, rooms,
conference commands, and the problem+json check every error must pass."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from confero.app.services import Services

PROBLEM_JSON = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is a problem+json with this status and stable code, and says why."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["status"] == status, body
    assert isinstance(body["detail"], str) and body["detail"].strip(), body
    assert "Traceback" not in response.text
    return body


PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class User:
    id: str
    email: str
    display_name: str
    password: str
    headers: dict[str, str]


async def bearer_headers(client: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    response = await client.post("/api/v1/tokens", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    return {"Authorization": f"Bearer {body['token']}"}


async def make_user(
    services: Services,
    client: httpx.AsyncClient,
    email: str,
    display_name: str,
    *,
    is_admin: bool = False,
) -> User:
    account = await services.accounts.create(email, PASSWORD, display_name, is_admin=is_admin)
    headers = await bearer_headers(client, email, PASSWORD)
    return User(account.id, account.email, account.display_name, PASSWORD, headers)


async def create_room(
    client: httpx.AsyncClient, owner: User, name: str = "Weekly sync", **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/rooms", json={"name": name, **fields}, headers=owner.headers
    )
    assert response.status_code == 201, response.text
    room: dict[str, Any] = response.json()
    return room


async def add_member(
    client: httpx.AsyncClient, owner: User, room_id: str, member: User, role: str | None
) -> httpx.Response:
    return await client.post(
        f"/api/v1/rooms/{room_id}/members",
        json={"email": member.email, "role": role},
        headers=owner.headers,
    )


async def command(
    client: httpx.AsyncClient, user: User, room_id: str, name: str, **fields: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/rooms/{room_id}/conference/commands",
        json={"command": name, **fields},
        headers=user.headers,
    )


async def join(client: httpx.AsyncClient, user: User, room_id: str) -> str:
    """Join the room's conference as ``user``; the new participant's id."""
    response = await command(client, user, room_id, "join")
    assert response.status_code == 200, response.text
    pid: str = response.json()["participant_id"]
    return pid


async def conference(client: httpx.AsyncClient, user: User, room_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/rooms/{room_id}/conference", headers=user.headers)
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()
    return state


async def room_names(client: httpx.AsyncClient, user: User) -> list[str]:
    response = await client.get("/api/v1/rooms", headers=user.headers)
    assert response.status_code == 200, response.text
    return [r["name"] for r in response.json()]
