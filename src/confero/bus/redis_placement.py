"""Room leases and the node registry in Redis (issue 16 item 2, F-SC2, docs/CLUSTER.md).

A lease is ``<prefix>:lease:<room_id> = <node_id>`` with a time to live (5 s by default,
``CONFERO_CLUSTER_LEASE_MS``); the registry entry ``<prefix>:node:<node_id>`` holds the
node's ``NodeInfo`` as JSON with the same time to live. One heartbeat task per node (not
per room) renews both every third of it, in one pipeline: the entry is set again, and a
Lua script extends each lease only while its value is still our id (compare-and-pexpire),
answering which are no longer ours. Release is a compare-and-delete script.

Claim is one script, one round trip: the holder stays if its registry entry is alive,
else the lease is ours (``SET ... PX``, as ``SET NX`` would on a free key; a holder
whose entry is gone stopped beating, and its leases lapse in the same breath anyway).
A node that cannot renew gives its rooms up at two thirds of the time to live, before
Redis lets another node have them, so two nodes never mix one room for long; a transient
Redis outage that long ends the conferences here (their participants rejoin). Redis is
the only judge; there is no consensus of our own (ARCHITECTURE.md).

The summary of a meeting the holder runs (``publish``, for the other nodes' panels) is
``<prefix>:meeting:<room_id>``, JSON, written only while the lease is ours and with the
lease's remaining time to live; the heartbeat extends it with the lease, a release
deletes both, and a claim deletes the previous conference's. So it never outlives the
lease: a dead node's meetings leave the list when its rooms come free. ``meetings``
reads any number of rooms with one MGET.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Collection, Iterable
from dataclasses import asdict
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from confero.app.placement import Attendee, LeaseLost, MeetingSummary, NodeInfo
from confero.bus.redis_connection import RedisKeys, read_json
from confero.domain.errors import DomainError

log = logging.getLogger(__name__)

DEFAULT_TTL_MS = 5000

# KEYS: the lease, its meeting's summary. ARGV: our node id, the ttl (ms), the registry's
# key prefix. A new conference: the summary of the one before goes.
_CLAIM = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  local info = redis.call('GET', ARGV[3] .. holder)
  if info then return {holder, info} end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('DEL', KEYS[2])
return {ARGV[1]}
"""

# KEYS[1]: the lease. ARGV: the registry's key prefix. The live holder's entry, or nil.
_OWNER = """
local holder = redis.call('GET', KEYS[1])
if not holder then return false end
return redis.call('GET', ARGV[1] .. holder)
"""

# KEYS: our leases, then their summaries in the same order. ARGV: our node id, the ttl
# (ms). The 1-based positions not ours.
_RENEW = """
local n = #KEYS / 2
local lost = {}
for i = 1, n do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[i], ARGV[2])
    redis.call('PEXPIRE', KEYS[n + i], ARGV[2])
  else
    lost[#lost + 1] = i
  end
end
return lost
"""

# KEYS: leases to give up, then their summaries in the same order. ARGV: our node id.
# Deletes only those still ours.
_RELEASE = """
local n = #KEYS / 2
local released = 0
for i = 1, n do
  if redis.call('GET', KEYS[i]) == ARGV[1] then
    redis.call('DEL', KEYS[i], KEYS[n + i])
    released = released + 1
  end
end
return released
"""

# KEYS: the lease, its summary. ARGV: our node id, the summary. Written only while the
# lease is ours, to lapse with it.
_PUBLISH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ttl)
return 1
"""


def _unavailable(exc: Exception) -> DomainError:
    log.warning("placement: Redis cannot be reached: %s", exc)
    return DomainError("conference.busy", "the conference cannot be placed now; try again")


def _node_info(data: Any) -> NodeInfo:
    return NodeInfo(
        node_id=str(data["node_id"]),
        internal_url=str(data["internal_url"]),
        sip_host=str(data["sip_host"]),
        sip_port=int(data["sip_port"]),
        media_host=str(data["media_host"]),
    )


def _summary_json(summary: MeetingSummary) -> str:
    return json.dumps(
        {
            "conference_id": summary.conference_id,
            "participants": summary.participants,
            "lobby": summary.lobby,
            "locked": summary.locked,
            "attendees": [[a.display_name, a.channel] for a in summary.attendees],
        }
    )


def _summary(data: Any) -> MeetingSummary:
    return MeetingSummary(
        conference_id=str(data["conference_id"]),
        participants=int(data["participants"]),
        lobby=int(data["lobby"]),
        locked=data["locked"] is True,
        attendees=tuple(Attendee(str(name), str(channel)) for name, channel in data["attendees"]),
    )


class RedisPlacement:
    """``Placement`` for a cluster node; one per process, started and closed by the
    composition root."""

    def __init__(
        self,
        redis: Redis,
        node: NodeInfo,
        *,
        keys: RedisKeys | None = None,
        ttl_ms: int = DEFAULT_TTL_MS,
    ) -> None:
        assert ttl_ms >= 100, ttl_ms
        self._redis = redis
        self._node = node
        self._keys = keys or RedisKeys()
        self._ttl_ms = ttl_ms
        self._json = json.dumps(asdict(node))
        #: Rooms whose lease we hold -> the claim's number (a stale heartbeat answer
        #: about an older claim of the same room is ignored).
        self._held: dict[str, int] = {}
        self._claims = 0
        self._listeners: list[LeaseLost] = []
        self._task: asyncio.Task[None] | None = None
        #: set while ``stop`` waits for the beat to end (it may swallow the cancel)
        self._stopping = False
        #: Loop time the last heartbeat that succeeded was sent.
        self._renewed_at: float | None = None
        self._failing = False

    @property
    def this_node(self) -> NodeInfo:
        return self._node

    @property
    def interval(self) -> float:
        """Seconds between heartbeats: a third of the lease."""
        return self._ttl_ms / 3000

    def held(self) -> frozenset[str]:
        """The rooms this node holds a lease on, as far as it knows."""
        return frozenset(self._held)

    def _lease(self, room_id: str) -> str:
        return self._keys.of("lease", room_id)

    def _meeting(self, room_id: str) -> str:
        return self._keys.of("meeting", room_id)

    def _paired(self, rooms: Iterable[str]) -> list[str]:
        """The rooms' leases, then their summaries in the same order (the scripts' KEYS)."""
        rooms = list(rooms)
        return [self._lease(r) for r in rooms] + [self._meeting(r) for r in rooms]

    async def _eval(self, script: str, keys: list[str], *args: str | int) -> Any:
        try:
            return await self._redis.eval(script, len(keys), *keys, *args)
        except RedisError as exc:
            raise _unavailable(exc) from exc

    # -------------------------------------------------------------- the port
    async def claim(self, room_id: str) -> NodeInfo:
        me = self._node.node_id
        reply = await self._eval(
            _CLAIM, self._paired([room_id]), me, self._ttl_ms, self._keys.of("node", "")
        )
        if reply[0].decode() == me:
            self._claims += 1
            self._held[room_id] = self._claims
            return self._node
        holder = read_json(reply[1], _node_info)
        if holder is None:  # a node of another version holds it: do not run it here too
            log.warning(
                "placement: room %s is held by %r, whose entry is unreadable", room_id, reply[0]
            )
            raise DomainError("conference.busy", "the conference cannot be placed now; try again")
        return holder

    async def release(self, room_id: str) -> None:
        self._held.pop(room_id, None)
        try:
            await self._redis.eval(_RELEASE, 2, *self._paired([room_id]), self._node.node_id)
        except RedisError as exc:  # it lapses by itself within the ttl
            log.warning("placement: room %s not released: %s", room_id, exc)

    async def owner(self, room_id: str) -> NodeInfo | None:
        raw = await self._eval(_OWNER, [self._lease(room_id)], self._keys.of("node", ""))
        return read_json(raw, _node_info)

    async def publish(self, room_id: str, summary: MeetingSummary) -> None:
        keys = self._paired([room_id])
        await self._eval(_PUBLISH, keys, self._node.node_id, _summary_json(summary))

    async def meetings(self, room_ids: Collection[str]) -> dict[str, MeetingSummary]:
        rooms = list(room_ids)
        if not rooms:
            return {}
        try:
            raws = await self._redis.mget([self._meeting(room) for room in rooms])
        except RedisError as exc:  # the list still shows the rooms, and this node's meetings
            log.warning("placement: meetings of other nodes not read: %s", exc)
            return {}
        found = {room: read_json(raw, _summary) for room, raw in zip(rooms, raws, strict=True)}
        return {room: summary for room, summary in found.items() if summary is not None}

    def on_lost(self, callback: LeaseLost) -> None:
        self._listeners.append(callback)

    async def start(self) -> None:
        """Register this node (a Redis that cannot be reached fails the start), then beat."""
        if self._task is not None:
            return
        loop = asyncio.get_running_loop()
        sent = loop.time()
        await self._renew([])
        self._renewed_at = sent
        self._task = asyncio.create_task(self._beat_forever(), name="placement-heartbeat")

    async def stop(self) -> None:
        """Stop beating and keep the leases (what a node that hangs looks like).

        The beat may swallow the cancel: one that lands inside a Redis call can come
        out as redis-py's ``ConnectionError``, or as ``asyncio.timeout``'s
        ``TimeoutError`` on 3.11, both of which the beat survives on purpose. So the
        loop also stops on ``_stopping``; a stop once hung a node's shutdown for good."""
        task, self._task = self._task, None
        if task is not None:
            self._stopping = True
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self._stopping = False

    async def close(self) -> None:
        await self.stop()
        leases = self._paired(self._held)
        self._held.clear()
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                if leases:
                    pipe.eval(_RELEASE, len(leases), *leases, self._node.node_id)
                pipe.delete(self._keys.of("node", self._node.node_id))
                await pipe.execute()
        except RedisError as exc:
            log.warning("placement: leases not released at shutdown: %s", exc)

    async def alive(self) -> bool:
        """Readiness: a heartbeat got through lately enough that this node keeps its rooms."""
        at = self._renewed_at
        return at is not None and asyncio.get_running_loop().time() < self._give_up_at(at)

    def _give_up_at(self, renewed_at: float) -> float:
        """Two thirds into the lease: the next heartbeat might come after Redis let go."""
        return renewed_at + self._ttl_ms / 1000 - self.interval

    # ------------------------------------------------------------- the heartbeat
    async def _beat_forever(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while not self._stopping:
            due += self.interval
            await asyncio.sleep(max(0.0, due - loop.time()))
            due = max(due, loop.time() - self.interval)  # after a stall: no catch-up burst
            try:
                await self.beat()
            except Exception:  # a bug must not stop the beat: the leases would lapse
                log.exception("placement: heartbeat failed")

    async def beat(self) -> None:
        """One heartbeat: renew the entry and every lease; whatever is not ours any more
        (or cannot be renewed in time) is lost."""
        loop = asyncio.get_running_loop()
        sent = loop.time()
        give_up_at = self._give_up_at(self._renewed_at or sent)
        held = dict(self._held)
        try:
            async with asyncio.timeout(max(0.01, min(self.interval, give_up_at - sent))):
                lost = await self._renew(list(held))
        except (RedisError, OSError, TimeoutError) as exc:
            self._unreachable(exc, give_up_at)
            return
        self._renewed_at = sent
        if self._failing:
            log.warning("placement: Redis is reachable again")
            self._failing = False
        self._lose(room for room in lost if self._held.get(room) == held[room])

    async def _renew(self, rooms: list[str]) -> list[str]:
        """One pipeline: the registry entry, then the compare-and-pexpire of ``rooms``."""
        me = self._node.node_id
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(self._keys.of("node", me), self._json, px=self._ttl_ms)
            if rooms:
                leases = self._paired(rooms)
                pipe.eval(_RENEW, len(leases), *leases, me, self._ttl_ms)
            replies = await pipe.execute()
        return [rooms[i - 1] for i in replies[1]] if rooms else []

    def _unreachable(self, exc: BaseException, give_up_at: float) -> None:
        if not self._failing:
            log.warning("placement: heartbeat failed: %r", exc)
            self._failing = True
        if asyncio.get_running_loop().time() >= give_up_at:
            self._lose(list(self._held))

    def _lose(self, rooms: Iterable[str]) -> None:
        for room in rooms:
            if self._held.pop(room, None) is None:
                continue
            log.warning("placement: lost the lease on room %s", room)
            for callback in self._listeners:
                try:
                    callback(room)
                except Exception:
                    log.exception("placement: a lease-lost callback failed")
