"""Request body cap and security headers (issue 14, web/limits.py).

The attack: 4 x 33 MB JSON bodies without a token were read and parsed before the 401,
and ``/join/<token>`` could be framed by any site. Here the cap is shown to refuse a
body before the application reads it (the bytes taken from ``receive`` are counted), a
chunked body the moment it passes the cap, and uploads to keep their own larger cap;
and every kind of answer (page, API, problem, 500, download) to carry the headers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.types import Message

from confero.app.services import Services
from confero.web.app import create_app
from confero.web.limits import MAX_BODY
from tests.web.support import User, assert_problem

MB = 1024 * 1024


async def room_of(client: httpx.AsyncClient, user: User) -> str:
    created = await client.post("/api/v1/rooms", json={"name": "Limits"}, headers=user.headers)
    assert created.status_code == 201, created.text
    room_id: str = created.json()["id"]
    return room_id


async def test_a_33_mb_body_without_a_token_is_refused_before_it_is_read(
    services: Services,
) -> None:
    app = create_app(services)
    taken = 0
    chunk = b"x" * (64 * 1024)
    chunks = 33 * MB // len(chunk)

    async def receive() -> Message:
        nonlocal taken
        taken += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": taken < chunks * len(chunk)}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/rooms",
        "raw_path": b"/api/v1/rooms",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"content-length", str(chunks * len(chunk)).encode()),
        ],
        "client": ("203.0.113.9", 4000),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)

    start = sent[0]
    assert start["status"] == 413
    headers = dict(start["headers"])
    assert headers[b"content-type"].startswith(b"application/problem+json")
    assert headers[b"connection"] == b"close"  # the server does not drain the rest either
    assert b'"code":"request.too_large"' in sent[1]["body"]
    assert taken == 0  # not a byte of the body was read


async def test_a_chunked_body_is_refused_once_it_passes_the_cap(
    client: httpx.AsyncClient, admin: User
) -> None:
    read = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal read
        for _ in range(64):  # 4 MB if all of it were taken
            read += 64 * 1024
            yield b" " * (64 * 1024)

    response = await client.post(
        "/api/v1/rooms",
        content=body(),
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    assert_problem(response, 413, "request.too_large")
    assert read <= MAX_BODY + 128 * 1024  # refused at the cap, not after all 4 MB
    assert (await client.get("/api/v1/rooms", headers=admin.headers)).json() == []


async def test_bodies_under_the_cap_still_work(client: httpx.AsyncClient, admin: User) -> None:
    room_id = await room_of(client, admin)
    text = "a" * 4000  # the longest chat message, well under the cap
    posted = await client.post(
        f"/api/v1/rooms/{room_id}/chat", json={"text": text}, headers=admin.headers
    )
    assert posted.status_code == 201, posted.text


@pytest.fixture
async def small_cap_client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(services, max_body=16 * 1024)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_uploads_keep_their_own_larger_cap(
    small_cap_client: httpx.AsyncClient, services: Services, admin: User
) -> None:
    client = small_cap_client
    room_id = await room_of(client, admin)
    over_json_cap = b"%PDF" + b"x" * (64 * 1024)
    upload = await client.post(
        f"/api/v1/rooms/{room_id}/files",
        params={"name": "notes.pdf"},
        content=over_json_cap,
        headers=admin.headers,
    )
    assert upload.status_code == 201, upload.text
    assert upload.json()["size"] == len(over_json_cap)
    big_json = await client.post(
        f"/api/v1/rooms/{room_id}/chat",
        content=b'{"text": "' + b"a" * (32 * 1024) + b'"}',
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    body = assert_problem(big_json, 413, "request.too_large")
    assert body["max_bytes"] == 16 * 1024


SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def assert_secured(response: httpx.Response) -> None:
    for name, value in SECURITY.items():
        assert response.headers.get(name) == value, (response.url, name, response.headers)
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp, csp


async def test_every_answer_carries_the_security_headers(
    services: Services, client: httpx.AsyncClient, admin: User
) -> None:
    room_id = await room_of(client, admin)
    room = (await client.get(f"/api/v1/rooms/{room_id}", headers=admin.headers)).json()
    join = await client.get(httpx.URL(room["invite_url"]).path)
    assert join.status_code == 200
    assert_secured(join)
    csp = join.headers["content-security-policy"]
    # The meeting page runs only our own module scripts: no inline script, no eval.
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    for response in (
        await client.get("/signin"),
        await client.get("/api/health"),
        await client.get("/api/v1/rooms"),  # 401 problem
        await client.get("/no/such/page"),  # 404
        await client.post("/api/v1/rooms", content=b"{", headers=admin.headers),  # 422
        await client.get("/static/js/main.js"),
        await client.get("/docs"),
        await client.get("/openapi.json"),
    ):
        assert_secured(response)


async def test_a_500_carries_them_too(services: Services) -> None:
    app = create_app(services)

    async def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/api/boom", boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/api/boom")
    assert_problem(response, 500, "server.error")
    assert_secured(response)


async def test_a_download_keeps_its_own_sandbox_policy(
    client: httpx.AsyncClient, admin: User
) -> None:
    room_id = await room_of(client, admin)
    up = await client.post(
        f"/api/v1/rooms/{room_id}/files",
        params={"name": "a.pdf"},
        content=b"%PDF-1.4",
        headers=admin.headers,
    )
    assert up.status_code == 201, up.text
    down = await client.get(
        f"/api/v1/rooms/{room_id}/files/{up.json()['id']}", headers=admin.headers
    )
    assert down.status_code == 200
    assert down.headers["content-security-policy"].startswith("sandbox")
    assert down.headers["x-frame-options"] == "DENY"
