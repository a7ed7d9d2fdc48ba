"""The guessing counters of issue 14 on their own: bounded memory that a flood of new
keys cannot use to wash a lock-out away, and the sign-in back-off's growth and cap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from confero.app.counters import MemoryCounters
from confero.app.ratelimit import Backoff, GuessGuard, GuessPolicy, parse_networks
from confero.domain.errors import DomainError

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


async def test_a_flood_of_new_numbers_stays_bounded_and_keeps_a_rooms_lock() -> None:
    store = MemoryCounters(max_keys=100)
    guard = GuessGuard(GuessPolicy(per_room=3), store)
    room = {"pin:room:123456": 3}
    for _ in range(3):
        await guard.fail(room, NOW, {})
    for n in range(5000):
        await guard.fail({f"pin:room:{n:06d}": 3}, NOW, {})
    assert len(store) <= 100
    with pytest.raises(DomainError) as exc:
        await guard.check(room, NOW)
    assert exc.value.code == "auth.rate_limited"


async def test_the_sign_in_back_off_grows_to_its_cap_and_never_locks() -> None:
    backoff = Backoff(free=2, base=1.0, cap=8.0)
    waits = []
    now = NOW
    for _ in range(8):
        await backoff.check("a", now)  # never refused once the wait is over
        await backoff.fail("a", now)
        try:
            await backoff.check("a", now)
            waits.append(0)
        except DomainError as exc:
            wait = exc.context["retry_after"]
            assert isinstance(wait, int)
            waits.append(wait)
            now += timedelta(seconds=wait)
    assert waits == [0, 1, 2, 4, 8, 8, 8, 8]


def test_trusted_proxies_are_parsed_strictly() -> None:
    assert parse_networks(" 10.0.0.0/8, 192.0.2.7 ,") == ("10.0.0.0/8", "192.0.2.7/32")
    assert GuessPolicy(trusted_proxies=parse_networks("10.0.0.0/8")).trusted("10.9.8.7")
    assert not GuessPolicy(trusted_proxies=parse_networks("10.0.0.0/8")).trusted("11.0.0.1")
    with pytest.raises(ValueError):
        parse_networks("10.0.0.0/8, proxy.example.org")
