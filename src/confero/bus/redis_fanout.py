"""The people pages' bus between cluster nodes: Redis pub/sub (issue 16 item 3, F-WB3;
port: ``PeopleFanout`` in app/presence_port.py).

A node holds the sockets of the pages that reached it; what one node learns (a call
rings, a contact's presence changed, a session signed out) must reach the pages on the
others. Pub/sub, not a stream: a push is worth something only now, to a page connected
now; a node that was cut off reads the truth again from the store when its pages open
(``welcome``), so nothing needs replaying. Order: one channel, one sender task per node,
so one node's pushes arrive in the order it made them.

Each message names its node; a node skips its own (it delivered locally already). The
queue is bounded (``MAX_QUEUED``): a node whose Redis is gone drops pushes with a
warning instead of growing without end. The listener reconnects with a back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from confero.app.presence_port import Fanned
from confero.bus.redis_connection import RedisKeys

log = logging.getLogger(__name__)

MAX_QUEUED = 10_000
#: Seconds between attempts to listen again after Redis went away.
RETRY = 0.5


class RedisFanout:
    def __init__(self, redis: Redis, keys: RedisKeys, node_id: str) -> None:
        self._redis = redis
        self._channel = keys.of("people")
        self._node = node_id
        self._queue: asyncio.Queue[str] = asyncio.Queue(MAX_QUEUED)
        self._tasks: list[asyncio.Task[None]] = []
        self._listening = asyncio.Event()

    async def start(self, deliver: Callable[[Fanned], None]) -> None:
        """Listen (subscribed before it returns) and send."""
        if self._tasks:
            return
        self._tasks = [
            asyncio.create_task(self._listen(deliver), name="people-fanout-listen"),
            asyncio.create_task(self._send(), name="people-fanout-send"),
        ]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), 5)

    def publish(self, fanned: Fanned) -> None:
        try:
            self._queue.put_nowait(json.dumps({"node": self._node, **asdict(fanned)}))
        except asyncio.QueueFull:
            log.warning("people fanout: %d pushes queued, dropping one", MAX_QUEUED)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, RedisError):
                await task
        self._tasks = []

    async def _send(self) -> None:
        while True:
            payload = await self._queue.get()
            try:
                await self._redis.publish(self._channel, payload)
            except RedisError as exc:
                log.warning("people fanout: a push is lost: %s", exc)

    async def _listen(self, deliver: Callable[[Fanned], None]) -> None:
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self._channel)
                    self._listening.set()
                    async for msg in pubsub.listen():
                        self._hand(msg, deliver)
            except (RedisError, OSError) as exc:
                self._listening.clear()
                log.warning("people fanout: listening again after %s", exc)
                await asyncio.sleep(RETRY)

    def _hand(self, msg: dict[str, Any], deliver: Callable[[Fanned], None]) -> None:
        try:
            data = json.loads(msg["data"])
            if data.pop("node", None) == self._node:
                return
            data["to"] = tuple(data.get("to", ()))
            fanned = Fanned(**data)
        except (ValueError, TypeError, KeyError):
            log.warning("people fanout: a message that is not ours: %.80r", msg.get("data"))
            return
        try:
            deliver(fanned)
        except Exception:
            log.exception("people fanout: delivering %s failed", fanned.kind)
