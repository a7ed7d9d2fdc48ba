"""Resume tokens of a cluster in Redis (issue 16, F-SC2 item 3; port: ``ResumeTokens`` in
app/session.py).

A page keeps its resume token and sends it when it rejoins. In one process the records
lived in that process's memory, so a page whose node died (its room re-formed on another
node once the lease lapsed) came back as a stranger. Here every node reads the same
records: the rejoin on any node is the same participant (id, identity, name, role).

The token is a bearer secret: the key is its SHA-256 (``<prefix>:resume:<hex>``), never
the token itself, so whoever can list the keys cannot rejoin as anyone. The value is the
record as JSON, written only by the server after a join, with a TTL (a day by default:
every rejoin renews it). A room's set ``<prefix>:resume-room:<room id>`` names its
records, so the end of its conference drops them (F-EN2: back in a locked room only by
knocking). Each call is one round trip (a GET, a MULTI pipeline, a Lua script). Redis out
of reach answers ``server.busy``: a rejoin that cannot read its token is not silently
made a new participant.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from confero.app.session import TokenRecord
from confero.bus.redis_connection import RedisKeys, out_of_reach, read_json
from confero.domain.roles import Role

# KEYS[1]: the room's set of record hashes. ARGV[1]: the records' key prefix.
_DROP_ROOM = """
local hashes = redis.call('SMEMBERS', KEYS[1])
for _, h in ipairs(hashes) do redis.call('DEL', ARGV[1] .. h) end
redis.call('DEL', KEYS[1])
return #hashes
"""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class RedisTokens:
    def __init__(self, client: Redis, keys: RedisKeys) -> None:
        self._client = client
        self._keys = keys
        self._drop_room = client.register_script(_DROP_ROOM)

    def key(self, token: str) -> str:
        return self._keys.of("resume", token_hash(token))

    def _room_key(self, room_id: str) -> str:
        return self._keys.of("resume-room", room_id)

    async def get(self, token: str) -> TokenRecord | None:
        try:
            raw = await self._client.get(self.key(token))
        except RedisError as exc:
            raise out_of_reach(exc) from exc
        return read_json(raw, _decode)

    async def put(self, token: str, record: TokenRecord, ttl: float) -> None:
        seconds = max(1, round(ttl))
        room_key = self._room_key(record.room_id)
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.set(self.key(token), _encode(record), ex=seconds)
                pipe.sadd(room_key, token_hash(token))
                pipe.expire(room_key, seconds)
                await pipe.execute()
        except RedisError as exc:
            raise out_of_reach(exc) from exc

    async def drop(self, token: str) -> None:
        try:
            await self._client.delete(self.key(token))
        except RedisError as exc:
            raise out_of_reach(exc) from exc

    async def drop_room(self, room_id: str) -> None:
        prefix = self._keys.of("resume", "")
        try:
            await self._drop_room(keys=[self._room_key(room_id)], args=[prefix])
        except RedisError as exc:
            raise out_of_reach(exc) from exc


def _encode(record: TokenRecord) -> str:
    return json.dumps(
        {
            "participant_id": record.participant_id,
            "room_id": record.room_id,
            "identity": record.identity,
            "name": record.name,
            "role": record.role.value,
            "admitted": record.admitted,
        }
    )


def _decode(data: Any) -> TokenRecord:
    """A record as ``_encode`` wrote it (``read_json`` makes any other shape no record)."""
    return TokenRecord(
        participant_id=str(data["participant_id"]),
        room_id=str(data["room_id"]),
        identity=str(data["identity"]),
        name=str(data["name"]),
        role=Role(data["role"]),
        admitted=data.get("admitted") is True,  # a record of before: knocks again
    )
