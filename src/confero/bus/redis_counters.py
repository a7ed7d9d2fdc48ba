"""The failure counters of a cluster in Redis (issue 16, F-SC2 item 3; port: app/counters.py).

PIN guesses, sign-in failures, invitation and chat budgets count across the nodes, so a
guesser who spreads tries over three nodes meets one limit, and a room's lock-out set on
one node refuses on all of them until it ends or its owner lifts it on any node.

Sliding windows as sorted sets (score = failure time), not fixed buckets: the memory
store's semantics exactly (the same count, the same ``retry_after`` from the oldest
failure), with no burst of twice the limit across a bucket edge; a key holds at most
about its limit of entries, because every caller checks before it fails. A hold is a
string with its end. Every call is one Lua script (one round trip, atomic: two nodes
failing at once cannot both miss the limit), bounded work per key: GET, ZREMRANGEBYSCORE,
ZCARD, ZRANGE 0 0, and on a failure ZADD, PEXPIRE, SET.

Times are the caller's ``now`` in microseconds (exact in a double until the year 2255),
never Redis TIME, so a fake clock drives it in tests (house rule 4). The TTLs use real
time only to throw keys away: a log lives one window past its last failure, a hold one
window past its end (by then the failures it would forget have aged out anyway), so
nothing accumulates. The script names several keys: one Redis (or a Sentinel pair), not
a sharded Redis Cluster. Redis out of reach refuses (``server.busy``): a guard that
cannot count must not wave guesses through.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from redis.exceptions import RedisError

from confero.app.counters import Rule, Tally
from confero.bus.redis_connection import RedisKeys
from confero.domain.errors import DomainError

_READ, _ADD, _ADD_IF_BELOW = 0, 1, 2
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)

# KEYS: per rule i, KEYS[2i-1] its failure log (sorted set), KEYS[2i] its hold (string).
# ARGV: now, mode, nonce, then per rule: window, limit, hold, cap (-1: none); times in µs.
# Returns per rule: count, oldest (-1: none), hold's end (-1: none), added (0/1).
# Numbers go to Redis through num(): Lua's own tostring would round them to 14 digits.
_SCRIPT = """
local now = tonumber(ARGV[1])
local mode = tonumber(ARGV[2])
local nonce = ARGV[3]
local n = #KEYS / 2
local function num(x) return string.format('%.0f', x) end
local function arg(i, j) return tonumber(ARGV[3 + (i - 1) * 4 + j]) end

local function settle(i)
  local log, hold = KEYS[2 * i - 1], KEYS[2 * i]
  local untl = tonumber(redis.call('GET', hold) or '-1')
  if untl >= 0 and untl <= now then
    redis.call('DEL', hold)
    untl = -1
    if arg(i, 4) < 0 then redis.call('DEL', log) end
  end
  redis.call('ZREMRANGEBYSCORE', log, '-inf', num(now - arg(i, 1)))
  return untl
end

local function tally(i, untl, added)
  local log = KEYS[2 * i - 1]
  local count = redis.call('ZCARD', log)
  local oldest = -1
  if count > 0 then oldest = tonumber(redis.call('ZRANGE', log, 0, 0, 'WITHSCORES')[2]) end
  return {count, oldest, untl, added}
end

local function add(i, untl)
  local log, hold = KEYS[2 * i - 1], KEYS[2 * i]
  local window, limit, base, cap = arg(i, 1), arg(i, 2), arg(i, 3), arg(i, 4)
  redis.call('ZADD', log, num(now), num(now) .. ':' .. nonce .. ':' .. i)
  redis.call('PEXPIRE', log, num(math.ceil(window / 1000) + 1000))
  local count = redis.call('ZCARD', log)
  if base > 0 and limit > 0 and count >= limit and (cap >= 0 or untl < 0) then
    local wait = base
    if cap >= 0 then
      for _ = 1, count - limit do
        if wait >= cap then break end
        wait = wait * 2
      end
      wait = math.min(wait, cap)
    end
    untl = now + wait
    redis.call('SET', hold, num(untl), 'PX', num(math.ceil((wait + window) / 1000)))
  end
  return untl
end

local out = {}
local function put(t) for _, v in ipairs(t) do out[#out + 1] = v end end
if mode ~= 1 then
  local untls, full = {}, false
  for i = 1, n do
    untls[i] = settle(i)
    local t = tally(i, untls[i], 0)
    local limit = arg(i, 2)
    if t[3] >= 0 or (limit > 0 and t[1] >= limit) then full = true end
    put(t)
  end
  if mode == 0 or full then return out end
  out = {}
  for i = 1, n do put(tally(i, add(i, untls[i]), 1)) end
  return out
end
for i = 1, n do put(tally(i, add(i, settle(i)), 1)) end
return out
"""


class RedisCounters:
    """``CounterStore`` on one Redis: keys ``<prefix>:counter:<key>`` (the failure log)
    and ``<prefix>:hold:<key>`` (a lock-out's or a slow-down's end)."""

    def __init__(self, redis: Redis, keys: RedisKeys | None = None) -> None:
        self._redis = redis
        self._keys = keys or RedisKeys()
        self._script = redis.register_script(_SCRIPT)

    def names(self, key: str) -> tuple[str, str]:
        """The Redis keys of one counter key: its failure log and its hold."""
        return self._keys.of("counter", key), self._keys.of("hold", key)

    async def read(self, rules: Sequence[Rule], now: datetime) -> list[Tally]:
        return await self._run(rules, now, _READ)

    async def add(
        self, rules: Sequence[Rule], now: datetime, *, if_below: bool = False
    ) -> list[Tally]:
        return await self._run(rules, now, _ADD_IF_BELOW if if_below else _ADD)

    async def forget(self, keys: Sequence[str]) -> None:
        if keys:
            try:
                await self._redis.delete(*(name for key in keys for name in self.names(key)))
            except RedisError as exc:
                raise _unreachable() from exc

    async def _run(self, rules: Sequence[Rule], now: datetime, mode: int) -> list[Tally]:
        if not rules:
            return []
        keys = [name for rule in rules for name in self.names(rule.key)]
        args: list[int | str] = [_us(now), mode, secrets.token_hex(4)]
        for rule in rules:
            cap = -1 if rule.cap is None else rule.cap // _US
            args += [rule.window // _US, rule.limit, rule.hold // _US, cap]
        try:
            flat = await self._script(keys=keys, args=args)
        except RedisError as exc:
            raise _unreachable() from exc
        return [_tally(flat[i : i + 4]) for i in range(0, len(flat), 4)]


def _us(when: datetime) -> int:
    return (when - _EPOCH) // _US


def _at(us: int) -> datetime | None:
    return None if us < 0 else _EPOCH + us * _US


def _tally(row: Sequence[int]) -> Tally:
    count, oldest, until, added = (int(v) for v in row)
    return Tally(count, _at(oldest), _at(until), bool(added))


def _unreachable() -> DomainError:
    return DomainError(
        "server.busy", "the cluster's shared counters are out of reach; try again", retry_after=1
    )
