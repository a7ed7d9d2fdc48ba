"""Limits hold across the nodes of a cluster (issue 16, F-SC2 item 3).

Two app stacks on one PostgreSQL database share one Redis counter store, as two nodes
do: PIN guesses spread over both lock the room at exactly the configured count, the
owner's lift on one node opens it on the other, and wrong passwords over both slow the
account down as if they had reached one node. With each node's own memory none of
this would trip: each node would see half the guesses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from confero.app.services import Services
from confero.bus.redis_counters import RedisCounters
from confero.config import Settings
from confero.domain.errors import DomainError
from confero.server import build
from tests.bus.redis_support import redis_for_test
from tests.clock import FakeClock
from tests.store.databases import fresh_database

PER_ROOM = 6
EMAIL, PASSWORD = "dora@example.org", "a-long-enough-password"


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database the two nodes share; dropped afterwards."""
    async with fresh_database("limits") as url:
        yield url


@pytest.fixture
async def nodes(
    database_url: str, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[tuple[Services, Services]]:
    async with redis_for_test() as (client, keys):
        counters = RedisCounters(client, keys)
        built: list[Services] = []
        try:
            for name in ("a", "b"):
                settings = Settings(
                    data_dir=tmp_path / name,
                    http_port=8080,
                    database_url=database_url,
                    pin_failures_per_room=PER_ROOM,
                    pin_failures_per_caller=100,
                    pin_failures_per_source=100,
                )
                built.append(await build(settings, clock=clock, counters=counters))
            yield built[0], built[1]
        finally:
            for services in built:
                await services.close()


async def refused(attempt: object) -> str:
    """The code of the ``DomainError`` an attempt raises."""
    with pytest.raises(DomainError) as error:
        await attempt  # type: ignore[misc]
    return error.value.code


async def test_pin_guesses_over_two_nodes_lock_the_room_at_the_limit_and_one_lift_opens_it(
    nodes: tuple[Services, Services], clock: FakeClock
) -> None:
    a, b = nodes
    owner = await a.accounts.create(EMAIL, PASSWORD, "Dora")
    room = await a.rooms.create(owner, "Shared")
    number, wrong = room.conference_number, "0" * len(room.pin)
    assert wrong != room.pin

    def guess(n: int, pin: str) -> object:
        node = (a, b)[n % 2]
        return node.rooms.access_by_pin(number, pin, f"+3120{n}", address=f"198.51.100.{n}")

    for n in range(PER_ROOM - 1):
        assert await refused(guess(n, wrong)) == "access.invalid"
    assert (await guess(7, room.pin))[0].id == room.id  # one short of the limit: still open
    assert await refused(guess(PER_ROOM - 1, wrong)) == "access.invalid"  # the limit, on b
    assert await refused(guess(8, room.pin)) == "auth.rate_limited"  # refused on a
    assert await refused(guess(9, room.pin)) == "auth.rate_limited"  # and on b
    until = await a.rooms.pin_locked_until(owner, room.id)
    assert until is not None and until > clock.now()  # the owner sees it on either node
    assert await b.rooms.pin_locked_until(owner, room.id) == until

    await a.rooms.lift_pin_lockout(owner, room.id)
    assert await b.rooms.pin_locked_until(owner, room.id) is None
    assert (await guess(11, room.pin))[0].id == room.id  # let in on b


async def test_wrong_passwords_over_two_nodes_slow_the_account_down(
    nodes: tuple[Services, Services], clock: FakeClock
) -> None:
    a, b = nodes
    await a.accounts.create(EMAIL, PASSWORD, "Dora")
    for n in range(5):  # the back-off's free failures, from five addresses on both nodes
        node = (a, b)[n % 2]
        attempt = node.accounts.authenticate(EMAIL, "wrong-guess", f"198.51.100.{n}")
        assert await refused(attempt) == "auth.invalid_credentials"
    with pytest.raises(DomainError) as slowed:  # the owner, on the other node
        await b.accounts.authenticate(EMAIL, PASSWORD, "192.0.2.10")
    assert slowed.value.code == "auth.rate_limited"
    assert slowed.value.context["retry_after"] == 1
    clock.advance(timedelta(seconds=1))
    assert (await b.accounts.authenticate(EMAIL, PASSWORD, "192.0.2.10")).email == EMAIL
    # The success forgot the failures on every node: no wait on a either.
    assert (await a.accounts.authenticate(EMAIL, PASSWORD, "192.0.2.10")).email == EMAIL


async def test_one_address_guessing_over_both_nodes_meets_one_limit(
    nodes: tuple[Services, Services],
) -> None:
    a, b = nodes
    for n in range(5):  # the per-address limit: 5 failures per 10 minutes
        account = f"nobody{n}@example.org"  # other accounts: only the address adds up
        attempt = (a, b)[n % 2].accounts.authenticate(account, "wrong", "203.0.113.7")
        assert await refused(attempt) == "auth.invalid_credentials"
    assert await refused(a.accounts.authenticate(EMAIL, "x", "203.0.113.7")) == (
        "auth.rate_limited"
    )
    assert await refused(b.accounts.authenticate(EMAIL, "x", "203.0.113.7")) == (
        "auth.rate_limited"
    )


async def test_rest_chat_spread_over_both_nodes_meets_one_sender_budget(
    nodes: tuple[Services, Services],
) -> None:
    """REST chat is not proxied to the room's node: any node takes it, one budget holds."""
    a, b = nodes
    owner = await a.accounts.create(EMAIL, PASSWORD, "Dora")
    room = await a.rooms.create(owner, "Shared")
    for n in range(a.rooms.chat_limits.policy.sender_burst):
        await (a, b)[n % 2].rooms.post_chat(room, "Guest", f"hi {n}", sender="participant:p1")
    one_more = b.rooms.post_chat(room, "Guest", "one more", sender="participant:p1")
    assert await refused(one_more) == "chat.rate_limited"
    await a.rooms.post_chat(room, "Other", "hello", sender="participant:p2")
    assert len(await b.rooms.list_chat(room.id)) == 11
