"""The rate limits and guessing guards on Redis count exactly as in one process's memory
(issue 16, F-SC2 item 3): every case runs against both stores, a random walk of calls
must give the same tallies from both, windows age out by the injected clock, and every
key Redis holds has a TTL."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from confero.app.chat_limits import ChatLimitPolicy, ChatLimits
from confero.app.counters import CounterStore, MemoryCounters, Rule
from confero.app.ratelimit import Backoff, GuessGuard, GuessPolicy, RateLimiter
from confero.bus.redis_connection import RedisKeys, connect
from confero.bus.redis_counters import RedisCounters
from confero.domain.errors import DomainError
from tests.bus.redis_support import redis_for_test

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ROOM = {"pin:room:123456": 3}
US = timedelta(microseconds=1)
#: Whole seconds: sums of them meet windows and holds exactly, where ``<=`` matters.
STEPS = [timedelta(seconds=s) for s in (0, 1, 5, 10, 20, 30)]


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[CounterStore]:
    if request.param == "memory":
        yield MemoryCounters()
        return
    async with redis_for_test() as (client, keys):
        yield RedisCounters(client, keys)


async def retry_after(check: object) -> int | None:
    """The ``retry_after`` of a refused check, None when it passes."""
    try:
        await check  # type: ignore[misc]
    except DomainError as refused:
        assert refused.code == "auth.rate_limited"
        value = refused.context["retry_after"]
        assert isinstance(value, int)
        return value
    return None


async def test_sign_in_failures_refuse_at_the_limit_until_the_oldest_ages_out(
    store: CounterStore,
) -> None:
    limiter = RateLimiter(3, timedelta(minutes=10), store)
    for minute in range(3):
        assert await retry_after(limiter.check("signin:src:a", NOW)) is None
        await limiter.fail("signin:src:a", NOW + timedelta(minutes=minute))
    later = NOW + timedelta(minutes=4)
    assert await retry_after(limiter.check("signin:src:a", later)) == 6 * 60 + 1
    assert await retry_after(limiter.check("signin:src:b", later)) is None  # another key
    assert await retry_after(limiter.check("signin:src:a", NOW + timedelta(minutes=10))) is None


async def test_many_failures_in_one_call_count_as_many(store: CounterStore) -> None:
    limiter = RateLimiter(20, timedelta(minutes=10), store)
    await limiter.fail("invite:a", NOW, times=19)
    assert await retry_after(limiter.check("invite:a", NOW)) is None
    await limiter.fail("invite:a", NOW, times=1)
    assert await retry_after(limiter.check("invite:a", NOW)) == 601


async def test_a_room_locks_at_its_limit_and_its_end_forgets_the_guesses(
    store: CounterStore,
) -> None:
    guard = GuessGuard(GuessPolicy(per_room=3, delay=1.0), store)
    lockout = {"pin:room:123456": timedelta(minutes=15)}
    delays = [await guard.fail(ROOM, NOW, lockout) for _ in range(3)]
    assert delays == [0.0, 1.0, 2.0]
    assert await guard.locked_until("pin:room:123456", NOW) == NOW + timedelta(minutes=15)
    assert await retry_after(guard.check(ROOM, NOW + timedelta(minutes=5))) == 10 * 60 + 1
    after = NOW + timedelta(minutes=15)
    assert await guard.locked_until("pin:room:123456", after) is None
    assert await guard.fail(ROOM, after, lockout) == 0.0  # a fresh count, not the fourth


async def test_the_owners_lift_opens_the_room_at_once(store: CounterStore) -> None:
    guard = GuessGuard(GuessPolicy(per_room=3), store)
    for _ in range(3):
        await guard.fail(ROOM, NOW, {})
    assert await retry_after(guard.check(ROOM, NOW)) is not None
    await guard.lift("pin:room:123456")
    assert await retry_after(guard.check(ROOM, NOW)) is None
    assert await guard.fail(ROOM, NOW, {}) == 0.0


async def test_the_sign_in_back_off_grows_to_its_cap(store: CounterStore) -> None:
    backoff = Backoff(free=2, base=1.0, cap=8.0, store=store)
    waits, now = [], NOW
    for _ in range(8):
        assert await retry_after(backoff.check("a", now)) is None
        await backoff.fail("a", now)
        wait = await retry_after(backoff.check("a", now)) or 0
        waits.append(wait)
        now += timedelta(seconds=wait)
    assert waits == [0, 1, 2, 4, 8, 8, 8, 8]
    await backoff.forget("a")  # the right password
    await backoff.fail("a", now)
    assert await retry_after(backoff.check("a", now)) is None


async def test_chat_budgets_refuse_without_counting(store: CounterStore) -> None:
    clock = [NOW.timestamp()]
    policy = ChatLimitPolicy(sender_burst=2, sender_window=10, room_burst=3, room_window=10)
    limits = ChatLimits(policy, clock=lambda: clock[0], store=store)
    await limits.check("r", "account:a")
    await limits.check("r", "account:a")
    with pytest.raises(DomainError) as refused:
        await limits.check("r", "account:a")
    assert refused.value.code == "chat.rate_limited"
    assert refused.value.context["retry_after"] == 11
    await limits.check("r", "account:b")  # the refused post took nothing of the room's
    with pytest.raises(DomainError):
        await limits.check("r", "account:c")
    await limits.check("r", "account:owner", member=True)  # members: their own burst only
    clock[0] += 10.5
    await limits.check("r", "account:a")


async def test_a_random_walk_gives_the_same_tallies_from_both_stores() -> None:
    rules = [
        Rule("plain", timedelta(seconds=30), 4),
        Rule("lock", timedelta(seconds=40), 3, timedelta(seconds=60)),
        Rule("short-lock", timedelta(seconds=90), 2, timedelta(seconds=20)),
        Rule("slow", timedelta(seconds=50), 2, timedelta(seconds=1), timedelta(seconds=16)),
    ]
    rng = random.Random(16)
    memory = MemoryCounters()
    async with redis_for_test() as (client, keys):
        redis = RedisCounters(client, keys)
        now = NOW
        for step in range(400):
            now += rng.choice(STEPS) if rng.random() < 0.5 else rng.randrange(9_000_000) * US
            chosen = rng.sample(rules, rng.randint(1, 3))
            op = rng.choice(["read", "add", "add", "below", "forget"])
            if op == "forget" and rng.random() < 0.3:
                await memory.forget([chosen[0].key])
                await redis.forget([chosen[0].key])
                continue
            if op == "read":
                want, got = await memory.read(chosen, now), await redis.read(chosen, now)
            else:
                below = op == "below"
                want = await memory.add(chosen, now, if_below=below)
                got = await redis.add(chosen, now, if_below=below)
            assert got == want, (step, op, [r.key for r in chosen])


async def test_every_key_has_a_ttl_a_little_past_its_use() -> None:
    async with redis_for_test() as (client, keys):
        store = RedisCounters(client, keys)
        guard = GuessGuard(GuessPolicy(per_room=3), store)
        for _ in range(3):
            await guard.fail(ROOM | {"pin:caller:1": 5}, NOW, {})
        await Backoff(free=1, store=store).fail("signin:acct:a", NOW)
        await ChatLimits(store=store).check("r", "account:a")
        found = {
            k.decode(): await client.pttl(k) async for k in client.scan_iter(f"{keys.prefix}:*")
        }
        assert len(found) == 7  # 3 logs and 2 chat logs, the room's and the account's hold
        ten_minutes = 10 * 60 * 1000
        assert all(ttl > 0 for ttl in found.values()), found
        assert found[keys.of("hold", "pin:room:123456")] <= 2 * ten_minutes  # lock + window
        assert found[keys.of("counter", "pin:caller:1")] <= ten_minutes + 1000
        assert found[keys.of("counter", "chat:room:r")] <= 11_000


async def test_redis_out_of_reach_refuses_instead_of_letting_guesses_through() -> None:
    client = connect("redis://127.0.0.1:9")  # nothing listens on the discard port
    try:
        guard = GuessGuard(GuessPolicy(), RedisCounters(client, RedisKeys("unreachable")))
        with pytest.raises(DomainError) as refused:
            await guard.check(ROOM, NOW)
        assert refused.value.code == "server.busy"
    finally:
        await client.aclose()
