"""Callers' recorded names shared by the nodes (issue 16; app/caller_names.py): the
memory and Redis stores keep a recording under a call's resume token and give it back;
Redis keys it by the token's digest, with a time to live, and out of reach answers
``server.busy`` (the call goes on without the name)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest

from confero.app.caller_names import MAX_BYTES, CallerNames, MemoryCallerNames
from confero.bus.redis_connection import RedisKeys, connect
from confero.bus.redis_names import KEEP, RedisCallerNames
from confero.domain.errors import DomainError
from tests.bus.redis_support import redis_for_test


@pytest.fixture(params=["memory", "redis"])
async def names(request: pytest.FixtureRequest) -> AsyncIterator[CallerNames]:
    if request.param == "memory":
        yield MemoryCallerNames()
        return
    async with redis_for_test() as (client, keys):
        yield RedisCallerNames(client, keys)


async def test_a_recording_comes_back_under_its_token_only(names: CallerNames) -> None:
    token, other = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    recording = bytes(range(256)) * (MAX_BYTES // 256)
    await names.put(token, recording)
    assert await names.get(token) == recording
    assert await names.get(other) is None


async def test_redis_keys_the_digest_with_a_time_to_live() -> None:
    async with redis_for_test() as (client, keys):
        token = secrets.token_urlsafe(24)
        await RedisCallerNames(client, keys).put(token, b"\x01\x02")
        found = [k.decode() async for k in client.scan_iter(match=f"{keys.prefix}:*")]
        assert len(found) == 1 and token not in found[0]
        assert 0 < await client.ttl(found[0]) <= KEEP


async def test_redis_out_of_reach_is_server_busy() -> None:
    client = connect("redis://127.0.0.1:1/0")  # nothing listens there
    try:
        with pytest.raises(DomainError) as exc:
            await RedisCallerNames(client, RedisKeys("x")).get("token")
        assert exc.value.code == "server.busy"
    finally:
        await client.aclose()
