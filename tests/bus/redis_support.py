"""The real Redis for tests (issue 16): ``CONFERO_TEST_REDIS_URL``, else the local one.

Each test gets its own key prefix (a uuid), so parallel shards never read each other's
keys, and every key under it is deleted afterwards. Redis absent: the test is skipped,
except in CI (``CI=true``), where that is a failure (tests/conftest.py's rule).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis
from redis.exceptions import RedisError

from confero.bus.redis_connection import RedisKeys, connect
from tests.conftest import missing_peer

REDIS_URL = os.environ.get("CONFERO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def reachable(client: Redis) -> bool:
    try:
        return bool(await client.ping())
    except (RedisError, OSError):
        return False


@asynccontextmanager
async def redis_for_test() -> AsyncIterator[tuple[Redis, RedisKeys]]:
    """A client on the test Redis and a key prefix of the test's own; cleaned up after."""
    client = connect(REDIS_URL)
    try:
        if not await reachable(client):
            missing_peer(f"Redis at {REDIS_URL} (set CONFERO_TEST_REDIS_URL)")
        keys = RedisKeys(prefix=f"test-{uuid.uuid4().hex}")
        try:
            yield client, keys
        finally:
            found = [k async for k in client.scan_iter(match=f"{keys.prefix}:*")]
            if found:
                await client.delete(*found)
    finally:
        await client.aclose()
