"""Accounts over REST (F-RS8): administrators create, list, change, disable and reset
accounts; everyone changes their own name, time zone and password."""

from __future__ import annotations

from typing import Any

import httpx

from confero.web.deps import SESSION_COOKIE
from tests.web.support import PASSWORD, User, assert_problem, bearer_headers

NEW_PASSWORD = "a much newer passphrase"


async def session_headers(client: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    """Sign in like the panel does; the cookie as a header, so one client speaks for many."""
    response = await client.post("/api/v1/session", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    token = response.cookies[SESSION_COOKIE]
    client.cookies.clear()
    return {"Cookie": f"{SESSION_COOKIE}={token}"}


async def me(client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    return await client.get("/api/v1/me", headers=headers)


async def accounts(client: httpx.AsyncClient, admin: User) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/accounts", headers=admin.headers)
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = response.json()
    return listed


async def test_admin_creates_and_lists_accounts_with_their_settings(
    client: httpx.AsyncClient, admin: User
) -> None:
    created = await client.post(
        "/api/v1/accounts",
        json={
            "email": "Nina@Example.org",
            "password": PASSWORD,
            "display_name": "Nina  Nowak",
            "sms_allowance": 20,
            "time_zone": "Europe/Warsaw",
        },
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    nina = created.json()
    assert nina["email"] == "nina@example.org"
    assert nina["display_name"] == "Nina Nowak"
    assert (nina["is_admin"], nina["disabled"]) == (False, False)
    assert nina["time_zone"] == "Europe/Warsaw"
    assert (nina["sms_allowance"], nina["sms_used"], nina["sms_left"]) == (20, 0, 20)

    listed = await accounts(client, admin)
    assert [a["email"] for a in listed] == [admin.email, "nina@example.org"]
    assert listed[1] == nina
    # What the administrator set is what Nina sees.
    nina_headers = await bearer_headers(client, "nina@example.org", PASSWORD)
    assert (await me(client, nina_headers)).json() == nina


async def test_invalid_new_accounts_are_refused_and_not_created(
    client: httpx.AsyncClient, admin: User
) -> None:
    base = {"email": "x@example.org", "password": PASSWORD}
    for fields, status, code in (
        ({"time_zone": "Mars/Olympus"}, 422, "account.invalid_time_zone"),
        ({"sms_allowance": -1}, 422, "account.invalid_sms_allowance"),
        ({"password": "short"}, 422, "account.weak_password"),
        ({"email": "not an address"}, 422, "account.invalid_email"),
        ({"email": admin.email}, 409, "account.email_taken"),
    ):
        response = await client.post(
            "/api/v1/accounts", json={**base, **fields}, headers=admin.headers
        )
        assert_problem(response, status, code)
    assert [a["email"] for a in await accounts(client, admin)] == [admin.email]


async def test_admin_sets_the_sms_allowance_and_time_zone(
    client: httpx.AsyncClient, admin: User, other: User
) -> None:
    url = f"/api/v1/accounts/{other.id}"
    changed = await client.patch(
        url,
        json={"sms_allowance": 15, "time_zone": "America/New_York", "display_name": "Bob O."},
        headers=admin.headers,
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["sms_allowance"], body["sms_left"], body["time_zone"]) == (
        15,
        15,
        "America/New_York",
    )
    assert body["display_name"] == "Bob O."
    assert (await me(client, other.headers)).json() == body

    # A refused change changes nothing, not even its valid fields.
    for fields, code in (
        ({"sms_allowance": -5, "display_name": "Robert"}, "account.invalid_sms_allowance"),
        ({"time_zone": "Nowhere/Special", "sms_allowance": 3}, "account.invalid_time_zone"),
    ):
        assert_problem(await client.patch(url, json=fields, headers=admin.headers), 422, code)
    assert (await me(client, other.headers)).json() == body

    missing = await client.patch(
        "/api/v1/accounts/nobody", json={"sms_allowance": 1}, headers=admin.headers
    )
    assert_problem(missing, 404, "account.not_found")


async def test_a_disabled_account_cannot_sign_in_until_re_enabled(
    client: httpx.AsyncClient, admin: User, other: User
) -> None:
    cookie = await session_headers(client, other.email, other.password)
    url = f"/api/v1/accounts/{other.id}"

    disabled = await client.patch(url, json={"disabled": True}, headers=admin.headers)
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["disabled"] is True

    # Its existing token and session cookie stop working at once.
    assert_problem(await me(client, other.headers), 401, "auth.required")
    assert_problem(await me(client, cookie), 401, "auth.required")
    # The right password learns it is disabled; a wrong one learns nothing.
    credentials = {"email": other.email, "password": other.password}
    for path in ("/api/v1/session", "/api/v1/tokens"):
        assert_problem(await client.post(path, json=credentials), 403, "auth.account_disabled")
    wrong = await client.post("/api/v1/tokens", json={**credentials, "password": "guess1234"})
    assert_problem(wrong, 401, "auth.invalid_credentials")
    assert SESSION_COOKIE not in client.cookies

    enabled = await client.patch(url, json={"disabled": False}, headers=admin.headers)
    assert enabled.json()["disabled"] is False
    fresh = await bearer_headers(client, other.email, other.password)
    assert (await me(client, fresh)).json()["email"] == other.email
    # Sessions from before the account was disabled stay ended.
    assert_problem(await me(client, other.headers), 401, "auth.required")


async def test_admin_resets_a_password_and_ends_that_accounts_sessions(
    client: httpx.AsyncClient, admin: User, other: User
) -> None:
    cookie = await session_headers(client, other.email, other.password)
    reset = await client.post(
        f"/api/v1/accounts/{other.id}/password",
        json={"password": NEW_PASSWORD},
        headers=admin.headers,
    )
    assert reset.status_code == 204, reset.text

    assert_problem(await me(client, other.headers), 401, "auth.required")
    assert_problem(await me(client, cookie), 401, "auth.required")
    old = await client.post("/api/v1/tokens", json={"email": other.email, "password": PASSWORD})
    assert_problem(old, 401, "auth.invalid_credentials")
    fresh = await bearer_headers(client, other.email, NEW_PASSWORD)
    assert (await me(client, fresh)).status_code == 200
    # The administrator's own session is untouched.
    assert (await me(client, admin.headers)).status_code == 200

    weak = await client.post(
        f"/api/v1/accounts/{other.id}/password", json={"password": "short"}, headers=admin.headers
    )
    assert_problem(weak, 422, "account.weak_password")
    assert (await me(client, fresh)).status_code == 200


async def test_only_administrators_manage_accounts(
    client: httpx.AsyncClient, admin: User, other: User, third: User
) -> None:
    for method, path, body in (
        ("GET", "/api/v1/accounts", None),
        ("POST", "/api/v1/accounts", {"email": "new@example.org", "password": PASSWORD}),
        ("PATCH", f"/api/v1/accounts/{third.id}", {"disabled": True}),
        ("PATCH", f"/api/v1/accounts/{other.id}", {"is_admin": True}),
        ("POST", f"/api/v1/accounts/{third.id}/password", {"password": NEW_PASSWORD}),
    ):
        response = await client.request(method, path, json=body, headers=other.headers)
        assert_problem(response, 403, "auth.forbidden")
        anonymous = await client.request(method, path, json=body)
        assert_problem(anonymous, 401, "auth.required")

    listed = await accounts(client, admin)
    assert [a["email"] for a in listed] == sorted([admin.email, other.email, third.email])
    assert not any(a["disabled"] for a in listed)
    assert [a["is_admin"] for a in listed] == [a["email"] == admin.email for a in listed]
    assert (await me(client, third.headers)).status_code == 200
    await bearer_headers(client, third.email, PASSWORD)


async def test_an_admin_cannot_lock_itself_out(
    client: httpx.AsyncClient, admin: User, other: User
) -> None:
    url = f"/api/v1/accounts/{admin.id}"
    for fields in (
        {"disabled": True},
        {"is_admin": False},
        {"display_name": "X", "disabled": True},
    ):
        response = await client.patch(url, json=fields, headers=admin.headers)
        assert_problem(response, 409, "account.self_lockout")
    mine = (await me(client, admin.headers)).json()
    assert (mine["is_admin"], mine["disabled"], mine["display_name"]) == (
        True,
        False,
        admin.display_name,
    )
    # Harmless changes to oneself are fine; so is promoting and demoting others.
    renamed = await client.patch(url, json={"display_name": "Ada L."}, headers=admin.headers)
    assert renamed.json()["display_name"] == "Ada L."
    other_url = f"/api/v1/accounts/{other.id}"
    promoted = await client.patch(other_url, json={"is_admin": True}, headers=admin.headers)
    assert promoted.json()["is_admin"] is True
    assert (await client.get("/api/v1/accounts", headers=other.headers)).status_code == 200
    demoted = await client.patch(other_url, json={"is_admin": False}, headers=admin.headers)
    assert demoted.json()["is_admin"] is False


async def test_changing_ones_password_ends_the_other_sessions(
    client: httpx.AsyncClient, other: User
) -> None:
    elsewhere = await session_headers(client, other.email, other.password)
    url = "/api/v1/me/password"

    wrong = await client.post(
        url,
        json={"current_password": "not my password", "new_password": NEW_PASSWORD},
        headers=other.headers,
    )
    assert_problem(wrong, 403, "account.wrong_password")
    weak = await client.post(
        url, json={"current_password": PASSWORD, "new_password": "short"}, headers=other.headers
    )
    assert_problem(weak, 422, "account.weak_password")
    assert (await me(client, elsewhere)).status_code == 200  # nothing changed yet

    changed = await client.post(
        url,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=other.headers,
    )
    assert changed.status_code == 204, changed.text
    assert (await me(client, other.headers)).status_code == 200  # this session stays
    assert_problem(await me(client, elsewhere), 401, "auth.required")
    old = await client.post("/api/v1/tokens", json={"email": other.email, "password": PASSWORD})
    assert_problem(old, 401, "auth.invalid_credentials")
    await bearer_headers(client, other.email, NEW_PASSWORD)


async def test_guessing_the_current_password_is_rate_limited(
    client: httpx.AsyncClient, other: User
) -> None:
    guess = {"current_password": "guess-0000", "new_password": NEW_PASSWORD}
    for _ in range(5):
        response = await client.post("/api/v1/me/password", json=guess, headers=other.headers)
        assert_problem(response, 403, "account.wrong_password")
    right = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    limited = await client.post("/api/v1/me/password", json=right, headers=other.headers)
    assert_problem(limited, 429, "auth.rate_limited")
    assert int(limited.headers["Retry-After"]) > 0
    await bearer_headers(client, other.email, PASSWORD)  # the password did not change


async def test_own_name_and_time_zone(client: httpx.AsyncClient, other: User) -> None:
    changed = await client.patch(
        "/api/v1/me",
        json={"time_zone": "Europe/Warsaw", "display_name": " Bob   B. "},
        headers=other.headers,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["time_zone"], changed.json()["display_name"]) == (
        "Europe/Warsaw",
        "Bob B.",
    )
    for zone in ("Mars/Olympus", "", "../../etc/passwd", "x" * 300):
        bad = await client.patch("/api/v1/me", json={"time_zone": zone}, headers=other.headers)
        assert_problem(bad, 422, "account.invalid_time_zone")
    assert (await me(client, other.headers)).json() == changed.json()
    # The own settings cannot grant anything.
    sneaky = await client.patch(
        "/api/v1/me", json={"is_admin": True, "sms_allowance": 99}, headers=other.headers
    )
    assert sneaky.status_code == 200
    assert (sneaky.json()["is_admin"], sneaky.json()["sms_allowance"]) == (False, 0)
