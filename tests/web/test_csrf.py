"""Cross-site protection: another site's page cannot use the panel's session cookie to
change anything; our own pages, scripts with tokens and plain reads are unaffected."""

from __future__ import annotations

import httpx
import pytest

from confero.app.services import Services
from confero.web.deps import SESSION_COOKIE
from tests.web.support import PASSWORD, User, assert_problem, make_user, room_names

EVIL = "https://evil.example"


@pytest.fixture
async def host(services: Services, client: httpx.AsyncClient) -> User:
    return await make_user(services, client, "hana@example.org", "Hana Host")


@pytest.fixture
async def cookie(client: httpx.AsyncClient, host: User) -> dict[str, str]:
    """The session cookie of a signed-in panel, as a header."""
    response = await client.post(
        "/api/v1/session", json={"email": host.email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    token = response.cookies[SESSION_COOKIE]
    client.cookies.clear()
    return {"Cookie": f"{SESSION_COOKIE}={token}"}


async def create(client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await client.post("/api/v1/rooms", json={"name": "Planted"}, headers=headers)


@pytest.mark.parametrize(
    "foreign",
    [
        {"Origin": EVIL},
        {"Origin": "http://testserver:8443"},  # another port is another origin
        {"Origin": "http://sub.testserver"},
        {"Origin": "null"},  # a sandboxed frame
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # a sibling subdomain
        {"Origin": "http://testserver", "Sec-Fetch-Site": "cross-site"},
    ],
)
async def test_a_foreign_page_cannot_use_the_cookie(
    client: httpx.AsyncClient, host: User, cookie: dict[str, str], foreign: dict[str, str]
) -> None:
    refused = await create(client, {**cookie, **foreign})
    assert_problem(refused, 403, "auth.cross_site")
    assert await room_names(client, host) == []

    renamed = await client.patch(
        "/api/v1/me", json={"display_name": "Owned"}, headers={**cookie, **foreign}
    )
    assert_problem(renamed, 403, "auth.cross_site")
    signed_out = await client.delete("/api/v1/session", headers={**cookie, **foreign})
    assert_problem(signed_out, 403, "auth.cross_site")
    me = await client.get("/api/v1/me", headers=cookie)
    assert me.json()["display_name"] == host.display_name


async def test_a_non_bearer_authorization_header_does_not_open_the_gate(
    client: httpx.AsyncClient, host: User, cookie: dict[str, str]
) -> None:
    """The cookie still authenticates when ``Authorization`` is not a bearer token."""
    headers = {**cookie, "Origin": EVIL, "Authorization": "Basic Zm9vOmJhcg=="}
    assert_problem(await create(client, headers), 403, "auth.cross_site")
    assert await room_names(client, host) == []


@pytest.mark.parametrize(
    "ours",
    [
        {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
        {"Origin": "http://TESTSERVER"},
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},  # typed into the address bar, a bookmark
        {},  # a script or curl: no browser to hijack
    ],
)
async def test_our_own_pages_and_scripts_pass(
    client: httpx.AsyncClient, host: User, cookie: dict[str, str], ours: dict[str, str]
) -> None:
    created = await create(client, {**cookie, **ours})
    assert created.status_code == 201, created.text
    assert await room_names(client, host) == ["Planted"]


async def test_the_configured_public_origin_is_ours_behind_a_proxy(
    client: httpx.AsyncClient, services: Services, host: User, cookie: dict[str, str]
) -> None:
    """A reverse proxy may hand us another Host; the base URL's origin is still ours."""
    created = await create(client, {**cookie, "Origin": services.base_url})
    assert created.status_code == 201, created.text


async def test_bearer_tokens_pass_from_anywhere(
    client: httpx.AsyncClient, host: User, cookie: dict[str, str]
) -> None:
    created = await create(client, {**host.headers, "Origin": EVIL, "Sec-Fetch-Site": "cross-site"})
    assert created.status_code == 201, created.text
    # Even with the cookie beside it: the request authenticates with the token.
    both = await create(client, {**host.headers, **cookie, "Origin": EVIL})
    assert both.status_code == 201, both.text


async def test_reads_pass_from_anywhere(
    client: httpx.AsyncClient, host: User, cookie: dict[str, str]
) -> None:
    read = await client.get(
        "/api/v1/rooms", headers={**cookie, "Origin": EVIL, "Sec-Fetch-Site": "cross-site"}
    )
    assert read.status_code == 200, read.text


async def test_without_a_cookie_there_is_nothing_to_protect(client: httpx.AsyncClient) -> None:
    """Unauthenticated requests get the usual answer, whoever sends them."""
    anonymous = await create(client, {"Origin": EVIL})
    assert_problem(anonymous, 401, "auth.required")
