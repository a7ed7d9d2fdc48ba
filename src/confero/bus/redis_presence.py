"""Presence and calls of a cluster in Redis (issue 16 item 3, F-WB3; port:
``PresenceStore`` in app/presence_port.py).

In one process these records lived in memory, so a person whose people page was on one
node and whose meeting ran on another was online here and busy there, and a call rung
by one node's page never rang a page on another node. Here every node reads the same
records (``<prefix>:<kind>:<id>``):

- ``page:<id>`` a hash (account, token digest, node), ``pages:<account>`` a set of page
  ids, ``pings`` one sorted set page id -> last ping (seconds): the sweeper's index.
- ``seat:<participant id>`` a hash (account, room, node), ``busy:<account>`` and
  ``seats:<room>`` sets of participant ids, ``node-seats:<node>`` the node's own (so a
  node that starts again forgets what its previous life left). A seat counts only while
  its node's registry entry (bus/redis_placement.py) lives: the seats of a node that
  died stop making anyone busy within the lease's time to live, not never.
- ``call:<id>`` a hash (the call as JSON, its state, caller, callee, room),
  ``calls:<account>`` sorted sets by start, ``due`` call id -> when the sweeper acts,
  ``room-call:<room>`` the accepted call of a call room.

Whatever reads and writes at once is one Lua script, so it is atomic and one round trip;
a swap of a call's state compares the state first (two nodes answering one call: one
wins). Every key has a time to live of a day, renewed when written: a cluster that
vanished leaves no litter for ever. Redis out of reach raises (``RedisError``): the
people service logs it and the page's message gets ``server.error``, nothing half-done
on our side.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from confero.app.presence_port import Activity, PageRecord
from confero.bus.redis_connection import RedisKeys
from confero.domain.calls import Call, CallState

#: Seconds every record lives after its last write (bounds what a dead cluster leaves).
KEEP = 24 * 3600

# ---------------------------------------------------------------------- pages
# KEYS: page, pings. ARGV: page id, now.
_TOUCH = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
"""

# KEYS: page, pings. ARGV: page id, pages:<account> key prefix.
_REMOVE_PAGE = """
local rec = redis.call('HMGET', KEYS[1], 'account', 'token')
if not rec[1] then return false end
local ping = redis.call('ZSCORE', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SREM', ARGV[2] .. rec[1], ARGV[1])
return {rec[1], rec[2], ping or '0'}
"""

# KEYS: pings. ARGV: page key prefix, then page ids. Rows id, account, token, ping.
_PAGES = """
local rows = {}
for i = 2, #ARGV do
  local rec = redis.call('HMGET', ARGV[1] .. ARGV[i], 'account', 'token')
  if rec[1] then
    local ping = redis.call('ZSCORE', KEYS[1], ARGV[i]) or '0'
    rows[#rows + 1] = {ARGV[i], rec[1], rec[2], ping}
  end
end
return rows
"""

# -------------------------------------------------------------------- seats
# KEYS: seat. ARGV: participant id, busy: prefix, seats: prefix, node-seats: prefix.
_LEAVE = """
local rec = redis.call('HMGET', KEYS[1], 'account', 'room', 'node')
if not rec[1] then return false end
redis.call('DEL', KEYS[1])
redis.call('SREM', ARGV[2] .. rec[1], ARGV[1])
redis.call('SREM', ARGV[3] .. rec[2], ARGV[1])
redis.call('SREM', ARGV[4] .. rec[3], ARGV[1])
return rec[1]
"""

# KEYS: seats:<room>. ARGV: seat: prefix, busy: prefix, node-seats: prefix. Accounts.
_END = """
local accounts = {}
for _, pid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local rec = redis.call('HMGET', ARGV[1] .. pid, 'account', 'node')
  if rec[1] then
    redis.call('SREM', ARGV[2] .. rec[1], pid)
    redis.call('SREM', ARGV[3] .. rec[2], pid)
    accounts[#accounts + 1] = rec[1]
  end
  redis.call('DEL', ARGV[1] .. pid)
end
redis.call('DEL', KEYS[1])
return accounts
"""

# A participant id's seat counts when its node lives; a dead node's seat is dropped.
_LIVE_SEAT = """
local function live_seat(pid, account, room)
  local rec = redis.call('HMGET', SEAT .. pid, 'room', 'node')
  if not rec[1] then
    redis.call('SREM', BUSY .. account, pid)
    return nil
  end
  if redis.call('EXISTS', NODE .. rec[2]) == 0 then
    redis.call('DEL', SEAT .. pid)
    redis.call('SREM', BUSY .. account, pid)
    redis.call('SREM', SEATS .. rec[1], pid)
    return nil
  end
  if room and rec[1] ~= room then return nil end
  return rec[1]
end
local function busy(account, room)
  for _, pid in ipairs(redis.call('SMEMBERS', BUSY .. account)) do
    if live_seat(pid, account, room) then return 1 end
  end
  return 0
end
"""

_PRELUDE = """
local SEAT, BUSY, SEATS, NODE, PAGES = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
"""

# ARGV: the prefixes, then the account, the room.
_IN_ROOM = _PRELUDE + _LIVE_SEAT + "return busy(ARGV[6], ARGV[7])\n"

# ARGV: the prefixes, then account ids. Per account: busy (0|1), online (0|1).
_ACTIVITY = (
    _PRELUDE
    + _LIVE_SEAT
    + """
local out = {}
for i = 6, #ARGV do
  out[#out + 1] = busy(ARGV[i], nil)
  out[#out + 1] = math.min(redis.call('SCARD', PAGES .. ARGV[i]), 1)
end
return out
"""
)

# ------------------------------------------------------------------- calls
# KEYS: call, calls:<caller>, calls:<callee>, due, room-call (or the call key again).
# ARGV: json, id, started, until ('' = never), expect ('' = any), state, caller,
# callee, room ('' = none), keep (s). 1, or 0 when ``expect`` did not hold.
_PUT_CALL = """
if ARGV[5] ~= '' and redis.call('HGET', KEYS[1], 'state') ~= ARGV[5] then return 0 end
redis.call('HSET', KEYS[1], 'json', ARGV[1], 'state', ARGV[6], 'caller', ARGV[7],
           'callee', ARGV[8], 'room', ARGV[9])
redis.call('EXPIRE', KEYS[1], ARGV[10])
for i = 2, 3 do
  redis.call('ZADD', KEYS[i], ARGV[3], ARGV[2])
  redis.call('EXPIRE', KEYS[i], ARGV[10])
end
if ARGV[4] == '' then redis.call('ZREM', KEYS[4], ARGV[2])
else redis.call('ZADD', KEYS[4], ARGV[4], ARGV[2]) end
if ARGV[9] ~= '' then redis.call('SET', KEYS[5], ARGV[2], 'EX', ARGV[10]) end
return 1
"""

# KEYS: call, due. ARGV: id, calls: prefix, room-call: prefix.
_DROP_CALL = """
local rec = redis.call('HMGET', KEYS[1], 'caller', 'callee', 'room')
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if not rec[1] then return 0 end
redis.call('ZREM', ARGV[2] .. rec[1], ARGV[1])
redis.call('ZREM', ARGV[2] .. rec[2], ARGV[1])
if rec[3] ~= '' and redis.call('GET', ARGV[3] .. rec[3]) == ARGV[1] then
  redis.call('DEL', ARGV[3] .. rec[3])
end
return 1
"""

# KEYS: calls:<account>. ARGV: call: prefix. The calls' JSON, oldest first.
_CALLS_OF = """
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local j = redis.call('HGET', ARGV[1] .. id, 'json')
  if j then out[#out + 1] = j else redis.call('ZREM', KEYS[1], id) end
end
return out
"""

# KEYS: due. ARGV: now, call: prefix. Claims: what it returns leaves ``due``.
_DUE = """
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])) do
  redis.call('ZREM', KEYS[1], id)
  local j = redis.call('HGET', ARGV[2] .. id, 'json')
  if j then out[#out + 1] = j end
end
return out
"""

# KEYS: room-call. ARGV: call: prefix.
_CALL_IN_ROOM = """
local id = redis.call('GET', KEYS[1])
if not id then return false end
return redis.call('HGET', ARGV[1] .. id, 'json')
"""


def _call_json(call: Call) -> str:
    data: dict[str, Any] = asdict(call)
    data["state"] = call.state.value
    data["started_at"] = call.started_at.isoformat()
    return json.dumps(data)


def _call(raw: bytes | str) -> Call:
    data = json.loads(raw)
    data["state"] = CallState(data["state"])
    data["started_at"] = datetime.fromisoformat(data["started_at"])
    return Call(**data)


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


class RedisPresence:
    """``PresenceStore`` of a cluster node ``node_id``."""

    def __init__(self, redis: Redis, keys: RedisKeys, node_id: str) -> None:
        self._redis = redis
        self._keys = keys
        self._node = node_id
        r = redis.register_script
        self._touch, self._remove_page, self._pages = r(_TOUCH), r(_REMOVE_PAGE), r(_PAGES)
        self._leave, self._end = r(_LEAVE), r(_END)
        self._in_room, self._activity = r(_IN_ROOM), r(_ACTIVITY)
        self._put_call, self._drop_call, self._calls_of = r(_PUT_CALL), r(_DROP_CALL), r(_CALLS_OF)
        self._due, self._call_in_room = r(_DUE), r(_CALL_IN_ROOM)

    def _k(self, kind: str, *parts: str) -> str:
        return self._keys.of(kind, *parts)

    def _prefix(self, kind: str) -> str:
        return self._keys.of(kind, "")

    def _prefixes(self) -> list[str]:
        """SEAT, BUSY, SEATS, NODE (the placement's registry), PAGES: see ``_PRELUDE``."""
        return [self._prefix(k) for k in ("seat", "busy", "seats", "node", "pages")]

    async def forget_node(self) -> None:
        """At start: the seats this node's previous life left go (its registry entry is
        alive again, so they would count)."""
        pids = await self._redis.smembers(self._k("node-seats", self._node))
        for raw in pids:
            await self.leave_meeting(_text(raw))
        await self._redis.delete(self._k("node-seats", self._node))

    # ------------------------------------------------------------------ pages
    async def add_page(self, page: PageRecord) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            key = self._k("page", page.id)
            pipe.hset(key, mapping={"account": page.account_id, "token": page.token})
            pipe.hset(key, "node", self._node)
            pipe.expire(key, KEEP)
            pipe.sadd(self._k("pages", page.account_id), page.id)
            pipe.expire(self._k("pages", page.account_id), KEEP)
            pipe.zadd(self._k("pings"), {page.id: page.last_ping})
            await pipe.execute()

    async def touch_page(self, page_id: str, now: float) -> bool:
        keys = [self._k("page", page_id), self._k("pings")]
        return bool(await self._touch(keys=keys, args=[page_id, now]))

    async def remove_page(self, page_id: str) -> PageRecord | None:
        keys = [self._k("page", page_id), self._k("pings")]
        row = await self._remove_page(keys=keys, args=[page_id, self._prefix("pages")])
        if not row:
            return None
        account, token, ping = (_text(x) for x in row)
        return PageRecord(page_id, account, token, float(ping))

    async def _records(self, ids: Sequence[str]) -> list[PageRecord]:
        if not ids:
            return []
        rows = await self._pages(keys=[self._k("pings")], args=[self._prefix("page"), *ids])
        return [PageRecord(_text(i), _text(a), _text(t), float(_text(p))) for i, a, t, p in rows]

    async def pages_of(self, account_id: str) -> Sequence[PageRecord]:
        ids = sorted(_text(x) for x in await self._redis.smembers(self._k("pages", account_id)))
        return await self._records(ids)

    async def stale_pages(self, before: float) -> Sequence[PageRecord]:
        ids = await self._redis.zrangebyscore(self._k("pings"), "-inf", f"({before}")
        return await self._records([_text(x) for x in ids if isinstance(x, bytes | str)])

    # -------------------------------------------------------------- meetings
    async def enter_meeting(self, participant_id: str, account_id: str, room_id: str) -> None:
        seat = self._k("seat", participant_id)
        sets = (
            self._k("busy", account_id),
            self._k("seats", room_id),
            self._k("node-seats", self._node),
        )
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(seat, mapping={"account": account_id, "room": room_id, "node": self._node})
            pipe.expire(seat, KEEP)
            for key in sets:
                pipe.sadd(key, participant_id)
                pipe.expire(key, KEEP)
            await pipe.execute()

    async def leave_meeting(self, participant_id: str) -> str | None:
        args = [participant_id, *(self._prefix(k) for k in ("busy", "seats", "node-seats"))]
        account = await self._leave(keys=[self._k("seat", participant_id)], args=args)
        return _text(account) if account else None

    async def end_meeting(self, room_id: str) -> set[str]:
        args = [self._prefix(k) for k in ("seat", "busy", "node-seats")]
        accounts = await self._end(keys=[self._k("seats", room_id)], args=args)
        return {_text(a) for a in accounts}

    async def in_room(self, account_id: str, room_id: str) -> bool:
        return bool(await self._in_room(args=[*self._prefixes(), account_id, room_id]))

    async def activity(self, account_ids: Sequence[str]) -> dict[str, Activity]:
        ids = list(dict.fromkeys(account_ids))
        if not ids:
            return {}
        flat = await self._activity(args=[*self._prefixes(), *ids])
        return {
            a: Activity(busy=bool(flat[2 * i]), online=bool(flat[2 * i + 1]))
            for i, a in enumerate(ids)
        }

    # ----------------------------------------------------------------- calls
    async def _write_call(self, call: Call, until: float | None, expect: str) -> bool:
        key = self._k("call", call.id)
        keys = [
            key,
            self._k("calls", call.caller_id),
            self._k("calls", call.callee_id),
            self._k("due"),
            self._k("room-call", call.room_id) if call.room_id else key,
        ]
        args: list[str | float] = [
            _call_json(call),
            call.id,
            call.started_at.timestamp(),
            "" if until is None else until,
            expect,
            call.state.value,
            call.caller_id,
            call.callee_id,
            call.room_id or "",
            KEEP,
        ]
        return bool(await self._put_call(keys=keys, args=args))

    async def put_call(self, call: Call, until: float | None) -> None:
        await self._write_call(call, until, "")

    async def swap_call(self, call: Call, until: float | None, expect: CallState) -> bool:
        return await self._write_call(call, until, expect.value)

    async def get_call(self, call_id: str) -> Call | None:
        raw = await self._redis.hget(self._k("call", call_id), "json")
        return _call(raw) if raw is not None else None

    async def drop_call(self, call_id: str) -> None:
        keys = [self._k("call", call_id), self._k("due")]
        await self._drop_call(
            keys=keys, args=[call_id, self._prefix("calls"), self._prefix("room-call")]
        )

    async def calls_of(self, account_id: str) -> Sequence[Call]:
        rows = await self._calls_of(
            keys=[self._k("calls", account_id)], args=[self._prefix("call")]
        )
        return [_call(r) for r in rows]

    async def call_in_room(self, room_id: str) -> Call | None:
        keys = [self._k("room-call", room_id)]
        raw = await self._call_in_room(keys=keys, args=[self._prefix("call")])
        return _call(raw) if raw else None

    async def due_calls(self, now: float) -> Sequence[Call]:
        rows = await self._due(keys=[self._k("due")], args=[now, self._prefix("call")])
        return [_call(r) for r in rows]
