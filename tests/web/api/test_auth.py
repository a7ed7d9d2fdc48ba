"""Signing in (cookie and bearer token), signing out, the rate limit on guessing, and
accounts created by an administrator."""

from __future__ import annotations

from datetime import timedelta

import httpx

from confero.app.services import Services
from confero.web.app import create_app
from confero.web.deps import SESSION_COOKIE
from tests.clock import FakeClock
from tests.web.support import PASSWORD, User, assert_problem, bearer_headers


async def test_health_answers_and_the_api_is_described(client: httpx.AsyncClient) -> None:
    health = await client.get("/api/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert health.json()["live_conferences"] == 0

    spec = await client.get("/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    for path in (
        "/api/v1/session",
        "/api/v1/tokens",
        "/api/v1/rooms",
        "/api/v1/reservations",
        "/api/v1/rooms/{room_id}/conference/commands",
        "/api/v1/rooms/{room_id}/chat",
    ):
        assert path in paths

    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]
    assert "/openapi.json" in docs.text


async def test_session_cookie_signs_in_and_signing_out_ends_it(
    client: httpx.AsyncClient, services: Services
) -> None:
    await services.accounts.create("dora@example.org", PASSWORD, "Dora")

    signed_in = await client.post(
        "/api/v1/session", json={"email": "Dora@Example.org ", "password": PASSWORD}
    )
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["email"] == "dora@example.org"
    assert "password" not in signed_in.text and "hash" not in signed_in.text
    set_cookie = signed_in.headers["set-cookie"].lower()
    assert set_cookie.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie
    cookie = client.cookies[SESSION_COOKIE]

    me = await client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["display_name"] == "Dora"

    signed_out = await client.delete("/api/v1/session")
    assert signed_out.status_code == 204
    assert SESSION_COOKIE not in client.cookies
    assert_problem(await client.get("/api/v1/me"), 401, "auth.required")

    # A copy of the old cookie, replayed by hand, opens nothing either.
    client.cookies.clear()
    replay = await client.get("/api/v1/me", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"})
    assert_problem(replay, 401, "auth.required")


async def test_a_session_expires_after_two_weeks(
    client: httpx.AsyncClient, services: Services, clock: FakeClock
) -> None:
    await services.accounts.create("dora@example.org", PASSWORD, "Dora")
    signed_in = await client.post(
        "/api/v1/session", json={"email": "dora@example.org", "password": PASSWORD}
    )
    assert signed_in.status_code == 200

    clock.advance(timedelta(days=14) - timedelta(seconds=1))
    assert (await client.get("/api/v1/me")).status_code == 200
    clock.advance(timedelta(seconds=1))
    assert_problem(await client.get("/api/v1/me"), 401, "auth.required")


async def test_wrong_password_and_unknown_email_are_refused_alike(
    client: httpx.AsyncClient, services: Services
) -> None:
    await services.accounts.create("dora@example.org", PASSWORD, "Dora")

    wrong = await client.post(
        "/api/v1/session", json={"email": "dora@example.org", "password": "not the password"}
    )
    unknown = await client.post(
        "/api/v1/session", json={"email": "nobody@example.org", "password": PASSWORD}
    )
    body_wrong = assert_problem(wrong, 401, "auth.invalid_credentials")
    body_unknown = assert_problem(unknown, 401, "auth.invalid_credentials")
    assert body_wrong["detail"] == body_unknown["detail"]
    assert SESSION_COOKIE not in client.cookies

    token = await client.post(
        "/api/v1/tokens", json={"email": "dora@example.org", "password": "not the password"}
    )
    assert_problem(token, 401, "auth.invalid_credentials")


async def test_five_failures_from_one_source_block_the_sixth_attempt(
    client: httpx.AsyncClient, services: Services, clock: FakeClock
) -> None:
    await services.accounts.create("dora@example.org", PASSWORD, "Dora")
    await services.accounts.create("eve@example.org", PASSWORD, "Eve")

    # Five guesses at five different accounts: the source is what gets blocked.
    for n in range(5):
        guess = await client.post(
            "/api/v1/session", json={"email": f"guess{n}@example.org", "password": "guess-guess"}
        )
        assert_problem(guess, 401, "auth.invalid_credentials")

    blocked = await client.post(
        "/api/v1/session", json={"email": "dora@example.org", "password": PASSWORD}
    )
    assert_problem(blocked, 429, "auth.rate_limited")
    retry_after = int(blocked.headers["Retry-After"])
    assert 0 < retry_after <= 601
    assert SESSION_COOKIE not in client.cookies
    token = await client.post(
        "/api/v1/tokens", json={"email": "dora@example.org", "password": PASSWORD}
    )
    assert_problem(token, 429, "auth.rate_limited")

    # Another address is not affected.
    transport = httpx.ASGITransport(app=create_app(services), client=("198.51.100.7", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as elsewhere:
        ok = await elsewhere.post(
            "/api/v1/session", json={"email": "eve@example.org", "password": PASSWORD}
        )
        assert ok.status_code == 200, ok.text

    # Just before Retry-After has passed, still blocked; once it has, the right password works.
    clock.advance(timedelta(seconds=retry_after - 2))
    still = await client.post(
        "/api/v1/session", json={"email": "dora@example.org", "password": PASSWORD}
    )
    assert_problem(still, 429, "auth.rate_limited")
    clock.advance(timedelta(seconds=2))
    ok = await client.post(
        "/api/v1/session", json={"email": "dora@example.org", "password": PASSWORD}
    )
    assert ok.status_code == 200, ok.text


async def test_failures_older_than_ten_minutes_are_forgotten(
    client: httpx.AsyncClient, services: Services, clock: FakeClock
) -> None:
    await services.accounts.create("dora@example.org", PASSWORD, "Dora")
    creds = {"email": "dora@example.org", "password": "wrong-password"}
    for _ in range(4):
        assert_problem(
            await client.post("/api/v1/session", json=creds), 401, "auth.invalid_credentials"
        )
    clock.advance(timedelta(minutes=10))
    # The four old failures aged out: five new ones are allowed before the block.
    for _ in range(5):
        assert_problem(
            await client.post("/api/v1/session", json=creds), 401, "auth.invalid_credentials"
        )
    assert_problem(await client.post("/api/v1/session", json=creds), 429, "auth.rate_limited")


async def test_api_token_works_as_bearer(client: httpx.AsyncClient, services: Services) -> None:
    account = await services.accounts.create("dora@example.org", PASSWORD, "Dora")
    headers = await bearer_headers(client, "dora@example.org", PASSWORD)
    assert SESSION_COOKIE not in client.cookies

    me = await client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["id"] == account.id
    assert me.json()["is_admin"] is False

    # Signing out with the token revokes it too.
    assert (await client.delete("/api/v1/session", headers=headers)).status_code == 204
    assert_problem(await client.get("/api/v1/me", headers=headers), 401, "auth.required")


async def test_without_valid_credentials_everything_asks_to_sign_in(
    client: httpx.AsyncClient,
) -> None:
    for method, path in (
        ("GET", "/api/v1/me"),
        ("GET", "/api/v1/rooms"),
        ("POST", "/api/v1/rooms"),
        ("GET", "/api/v1/reservations"),
        ("POST", "/api/v1/accounts"),
    ):
        response = await client.request(method, path, json={"name": "x"})
        assert_problem(response, 401, "auth.required")
    for header in ("Bearer not-a-token", "Bearer ", "Basic Zm9vOmJhcg==", "Bearer " + "x" * 500):
        response = await client.get("/api/v1/me", headers={"Authorization": header})
        assert_problem(response, 401, "auth.required")


async def test_only_an_admin_creates_accounts(
    client: httpx.AsyncClient, services: Services, admin: User, other: User
) -> None:
    created = await client.post(
        "/api/v1/accounts",
        json={"email": "Fay@Example.org", "password": "fays password", "display_name": "Fay"},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["email"] == "fay@example.org"
    assert created.json()["is_admin"] is False
    assert "password" not in created.text
    # The new account can sign in with the password it was given.
    fay = await bearer_headers(client, "fay@example.org", "fays password")
    assert (await client.get("/api/v1/me", headers=fay)).json()["display_name"] == "Fay"

    refused = await client.post(
        "/api/v1/accounts",
        json={"email": "gus@example.org", "password": "guss password"},
        headers=other.headers,
    )
    assert_problem(refused, 403, "auth.forbidden")
    assert await services.accounts.by_email("gus@example.org") is None

    anonymous = await client.post(
        "/api/v1/accounts", json={"email": "gus@example.org", "password": "guss password"}
    )
    assert_problem(anonymous, 401, "auth.required")
    assert await services.accounts.by_email("gus@example.org") is None


async def test_account_creation_rejects_taken_emails_and_weak_passwords(
    client: httpx.AsyncClient, services: Services, admin: User
) -> None:
    before = await services.accounts.count()

    taken = await client.post(
        "/api/v1/accounts",
        json={"email": "ADA@example.org", "password": "another password"},
        headers=admin.headers,
    )
    assert_problem(taken, 409, "account.email_taken")
    # The existing account keeps its password.
    await bearer_headers(client, admin.email, admin.password)

    weak = await client.post(
        "/api/v1/accounts",
        json={"email": "hal@example.org", "password": "short"},
        headers=admin.headers,
    )
    assert_problem(weak, 422, "account.weak_password")

    invalid = await client.post(
        "/api/v1/accounts",
        json={"email": "not-an-email", "password": "long enough password"},
        headers=admin.headers,
    )
    assert_problem(invalid, 422, "account.invalid_email")

    assert await services.accounts.count() == before
