"""Callers' recorded names in Redis (issue 16; port: ``CallerNames`` in
app/caller_names.py): ``<prefix>:caller-name:<sha256 of the call's resume token>``, the
raw samples, with a day's time to live (a relayed call may join again hours later,
after its owner died). Keyed by a digest, like the resume tokens: whoever can list the
keys learns no token."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from confero.app.caller_names import MAX_BYTES
from confero.bus.redis_connection import RedisKeys, out_of_reach
from confero.bus.redis_tokens import token_hash

KEEP = 24 * 3600


class RedisCallerNames:
    def __init__(self, client: Redis, keys: RedisKeys) -> None:
        self._client = client
        self._keys = keys

    def _key(self, token: str) -> str:
        return self._keys.of("caller-name", token_hash(token))

    async def put(self, key: str, recording: bytes) -> None:
        assert len(recording) <= MAX_BYTES, len(recording)
        try:
            await self._client.set(self._key(key), recording, ex=KEEP)
        except RedisError as exc:
            raise out_of_reach(exc) from exc

    async def get(self, key: str) -> bytes | None:
        try:
            raw = await self._client.get(self._key(key))
        except RedisError as exc:
            raise out_of_reach(exc) from exc
        return raw.encode() if isinstance(raw, str) else raw
