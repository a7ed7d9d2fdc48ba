"""Errors are part of the interface (house rule 7): every failure is problem+json with a
stable code, malformed input is refused cleanly, and a bug never shows a traceback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from confero.app.services import Services
from confero.web.app import create_app
from tests.web.support import PASSWORD, assert_problem, bearer_headers


@pytest.fixture
async def headers(services: Services, client: httpx.AsyncClient) -> dict[str, str]:
    await services.accounts.create("pat@example.org", PASSWORD, "Pat")
    return await bearer_headers(client, "pat@example.org", PASSWORD)


async def test_malformed_json_is_a_request_problem(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    for content in (b"{not json", b"", b'{"name": "Room",}', "\u00ff".encode("latin-1")):
        response = await client.post(
            "/api/v1/rooms",
            content=content,
            headers={**headers, "Content-Type": "application/json"},
        )
        body = assert_problem(response, 422, "request.invalid")
        assert isinstance(body["errors"], list) and body["errors"]
    rooms = await client.get("/api/v1/rooms", headers=headers)
    assert rooms.json() == []


async def test_wrongly_shaped_bodies_name_the_bad_field(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    wrong_type = await client.post(
        "/api/v1/rooms", json={"name": "Room", "capacity": "ten"}, headers=headers
    )
    body = assert_problem(wrong_type, 422, "request.invalid")
    assert ["body", "capacity"] in [e["loc"] for e in body["errors"]]

    not_an_object = await client.post("/api/v1/rooms", json=["Room"], headers=headers)
    assert_problem(not_an_object, 422, "request.invalid")

    too_long = await client.post("/api/v1/rooms", json={"name": "x" * 201}, headers=headers)
    assert_problem(too_long, 422, "request.invalid")
    assert (await client.get("/api/v1/rooms", headers=headers)).json() == []


async def test_unknown_routes_and_methods_are_problems(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    assert_problem(await client.get("/api/v1/nothing-here"), 404, "http.not_found")
    assert_problem(await client.get("/no/such/page", headers=headers), 404, "http.not_found")
    not_allowed = await client.put("/api/v1/rooms", json={}, headers=headers)
    assert_problem(not_allowed, 405, "http.method_not_allowed")
    assert not_allowed.headers["allow"]


async def test_domain_errors_keep_their_context(
    client: httpx.AsyncClient, services: Services, headers: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/rooms", json={"name": "Hall", "capacity": 10_000}, headers=headers
    )
    body = assert_problem(response, 422, "room.invalid_capacity")
    assert body["maximum"] == services.rooms.policy.max_capacity
    assert body["title"] == "room.invalid_capacity"


@pytest.fixture
async def fragile(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """The real app plus one route with a bug in it, served as uvicorn would: the error
    reaches the client as a response, not as an exception in the test."""
    app = create_app(services)

    @app.get("/api/v1/broken")
    async def broken() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_a_bug_is_a_plain_500_problem_without_internals(
    fragile: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = await fragile.get("/api/v1/broken")
    assert_problem(response, 500, "server.error")
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    # The server's log has what the client does not.
    assert any("hunter2" in (r.exc_text or "") or r.exc_info for r in caplog.records)
    # And the server goes on answering.
    assert (await fragile.get("/api/health")).status_code == 200
