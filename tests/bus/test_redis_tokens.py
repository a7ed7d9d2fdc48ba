"""Resume token stores (issue 16, F-SC2 item 3): the one-process memory store and the
cluster's Redis store keep the same records, and Redis keeps them under the token's
hash with a TTL, never the token itself (a bearer secret)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from confero.app.session import MemoryTokens, ResumeTokens, TokenRecord
from confero.bus.redis_connection import connect
from confero.bus.redis_tokens import RedisTokens, token_hash
from confero.domain.errors import DomainError
from confero.domain.roles import Role
from tests.bus.redis_support import redis_for_test

DAY = 24 * 3600.0


def a_record(room_id: str = "room-1", role: Role = Role.PARTICIPANT) -> TokenRecord:
    return TokenRecord("pid-1", room_id, "browser:abc", "Ann Guest", role)


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[ResumeTokens]:
    if request.param == "memory":
        yield MemoryTokens()
        return
    async with redis_for_test() as (client, keys):
        yield RedisTokens(client, keys)


async def test_a_record_put_is_read_back_and_dropped(store: ResumeTokens) -> None:
    token = secrets.token_urlsafe(24)
    assert await store.get(token) is None
    record = a_record(role=Role.MODERATOR)
    await store.put(token, record, DAY)
    assert await store.get(token) == record
    let_in = replace(record, admitted=True)  # issue 16: in, not only knocking
    await store.put(token, let_in, DAY)
    assert await store.get(token) == let_in
    assert await store.get(secrets.token_urlsafe(24)) is None, "another token finds nothing"
    await store.drop(token)
    assert await store.get(token) is None
    await store.drop(token)  # dropping twice is no error


async def test_the_end_of_a_rooms_conference_drops_its_records_only(store: ResumeTokens) -> None:
    mine, other = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    await store.put(mine, a_record("room-1"), DAY)
    await store.put(other, a_record("room-2"), DAY)
    await store.drop_room("room-1")
    assert await store.get(mine) is None
    assert await store.get(other) == a_record("room-2")
    await store.drop_room("no-such-room")


async def test_a_later_put_replaces_the_record(store: ResumeTokens) -> None:
    token = secrets.token_urlsafe(24)
    await store.put(token, a_record(), DAY)
    moved = TokenRecord("pid-2", "room-1", "browser:abc", "Ann", Role.PARTICIPANT)
    await store.put(token, moved, DAY)
    assert await store.get(token) == moved


async def test_redis_keeps_the_hash_of_the_token_with_a_ttl() -> None:
    async with redis_for_test() as (client, keys):
        store = RedisTokens(client, keys)
        token = secrets.token_urlsafe(24)
        await store.put(token, a_record(), DAY)
        found = [k.decode() async for k in client.scan_iter(match=f"{keys.prefix}:*")]
        assert found and not any(token in k for k in found), found
        assert keys.of("resume", token_hash(token)) in found
        value = await client.get(keys.of("resume", token_hash(token)))
        assert value is not None and token.encode() not in value
        assert DAY - 5 <= await client.ttl(keys.of("resume", token_hash(token))) <= DAY
        assert 0 < await client.ttl(keys.of("resume-room", "room-1")) <= DAY


async def test_redis_expires_a_record_after_its_ttl() -> None:
    async with redis_for_test() as (client, keys):
        store = RedisTokens(client, keys)
        token = secrets.token_urlsafe(24)
        await store.put(token, a_record(), 1)
        await client.pexpire(keys.of("resume", token_hash(token)), 50)
        await asyncio.sleep(0.12)
        assert await store.get(token) is None


async def test_a_record_of_another_shape_is_no_record() -> None:
    async with redis_for_test() as (client, keys):
        store = RedisTokens(client, keys)
        token = secrets.token_urlsafe(24)
        await client.set(keys.of("resume", token_hash(token)), b'{"role": "owner"}')
        assert await store.get(token) is None


async def test_redis_out_of_reach_answers_busy() -> None:
    async with redis_for_test() as (client, keys):
        dead = connect("redis://127.0.0.1:1/0")
        try:
            store = RedisTokens(dead, keys)
            with pytest.raises(DomainError) as caught:
                await store.get(secrets.token_urlsafe(24))
            assert caught.value.code == "server.busy"
            with pytest.raises(DomainError):
                await store.put(secrets.token_urlsafe(24), a_record(), DAY)
        finally:
            await dead.aclose()
        assert await client.ping()
