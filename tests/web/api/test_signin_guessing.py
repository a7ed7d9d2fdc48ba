"""Sign-in under guessing (issue 14, item 3): per account a progressive delay instead of
a lock-out anyone could cause, per address a limit, and ``X-Forwarded-For`` believed
only from CONFERO_TRUSTED_PROXIES (the attack run escaped the per-address limit with a
forged header from 127.0.0.1, which uvicorn believed by default)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn

from confero.app.ratelimit import GuessGuard, GuessPolicy
from confero.app.services import Services
from confero.config import Settings
from confero.server import http_config
from confero.web.app import create_app
from tests.clock import FakeClock
from tests.web.support import PASSWORD, assert_problem

DORA = "dora@example.org"


def client_from(services: Services, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(services), client=(address, 4000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def sign_in(client: httpx.AsyncClient, password: str, **headers: str) -> httpx.Response:
    return await client.post(
        "/api/v1/session", json={"email": DORA, "password": password}, headers=headers
    )


def trust(services: Services, *networks: str) -> None:
    services.rooms.guesses = GuessGuard(GuessPolicy(trusted_proxies=networks))


async def test_guessing_from_many_addresses_slows_the_account_but_never_locks_out_its_owner(
    services: Services, clock: FakeClock
) -> None:
    await services.accounts.create(DORA, PASSWORD, "Dora")
    waits: list[int] = []
    for n in range(12):  # one wrong guess from each of 12 addresses
        async with client_from(services, f"198.51.100.{n}") as guesser:
            answer = await sign_in(guesser, "wrong-password")
            if answer.status_code == 429:
                assert_problem(answer, 429, "auth.rate_limited")
                waits.append(int(answer.headers["Retry-After"]))
                clock.advance(timedelta(seconds=waits[-1]))
                assert_problem(
                    await sign_in(guesser, "wrong-password"), 401, "auth.invalid_credentials"
                )
            else:
                assert_problem(answer, 401, "auth.invalid_credentials")
    assert waits and waits == sorted(waits) and waits[-1] > waits[0], "the delay grows"

    # The owner, right after: told to wait a little (at most a minute), never 10 minutes.
    async with client_from(services, "192.0.2.10") as owner:
        slowed = await sign_in(owner, PASSWORD)
        assert_problem(slowed, 429, "auth.rate_limited")
        retry_after = int(slowed.headers["Retry-After"])
        assert 0 < retry_after <= 60
        clock.advance(timedelta(seconds=retry_after))
        ok = await sign_in(owner, PASSWORD)
        assert ok.status_code == 200, ok.text
        # Success forgets the failures: the next sign-in is not slowed.
        assert (await sign_in(owner, PASSWORD)).status_code == 200


async def test_a_forged_forwarded_for_does_not_give_each_guess_a_fresh_address(
    services: Services, client: httpx.AsyncClient
) -> None:
    """No trusted proxies (the default): the header is ignored, the peer counts."""
    await services.accounts.create(DORA, PASSWORD, "Dora")
    for n in range(5):
        guess = await client.post(
            "/api/v1/session",
            json={"email": f"guess{n}@example.org", "password": "wrong-password"},
            headers={"X-Forwarded-For": f"203.0.113.{n}"},
        )
        assert_problem(guess, 401, "auth.invalid_credentials")
    blocked = await sign_in(client, PASSWORD, **{"X-Forwarded-For": "203.0.113.77"})
    assert_problem(blocked, 429, "auth.rate_limited")


async def test_behind_a_trusted_proxy_the_forwarded_client_is_limited(
    services: Services,
) -> None:
    await services.accounts.create(DORA, PASSWORD, "Dora")
    trust(services, "10.0.0.0/8")
    async with client_from(services, "10.0.0.2") as proxy:
        for n in range(5):  # the client forges a first hop; the proxy appends the real one
            guess = await proxy.post(
                "/api/v1/session",
                json={"email": f"guess{n}@example.org", "password": "wrong-password"},
                headers={"X-Forwarded-For": f"1.2.3.{n}, 203.0.113.5, 10.0.0.9"},
            )
            assert_problem(guess, 401, "auth.invalid_credentials")
        blocked = await sign_in(proxy, PASSWORD, **{"X-Forwarded-For": "203.0.113.5"})
        assert_problem(blocked, 429, "auth.rate_limited")
        # Another client behind the same proxy is not affected.
        ok = await sign_in(proxy, PASSWORD, **{"X-Forwarded-For": "203.0.113.6"})
        assert ok.status_code == 200, ok.text


# --------------------------------------------------- as `confero serve` runs uvicorn


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def served(services: Services, tmp_path: Path) -> AsyncIterator[str]:
    settings = Settings(data_dir=tmp_path / "var", http_port=_free_port(), log_level="warning")
    config = http_config(create_app(services), settings)
    config.lifespan = "off"  # the services fixture closes the services
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), task
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{settings.http_port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def test_served_from_localhost_a_forged_forwarded_for_is_not_believed(
    services: Services, served: str
) -> None:
    """The attack as run: guesses from 127.0.0.1, each with a new X-Forwarded-For."""
    await services.accounts.create(DORA, PASSWORD, "Dora")
    async with httpx.AsyncClient(base_url=served) as client:
        for n in range(5):
            guess = await client.post(
                "/api/v1/session",
                json={"email": f"guess{n}@example.org", "password": "wrong-password"},
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
            )
            assert_problem(guess, 401, "auth.invalid_credentials")
        blocked = await sign_in(client, PASSWORD, **{"X-Forwarded-For": "203.0.113.99"})
        assert_problem(blocked, 429, "auth.rate_limited")
