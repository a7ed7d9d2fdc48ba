"""Background tasks an adapter or service starts and must not lose (house rule 2: fast
handlers only spawn). asyncio keeps only a weak reference to a task, so an unkept one can
vanish mid-flight, and an exception nobody awaits is never seen: kept here, logged here."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any


class Background:
    def __init__(self, log: logging.Logger, what: str) -> None:
        self._log = log
        self._what = what
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._log.error(
                "%s task %s failed", self._what, task.get_name(), exc_info=task.exception()
            )

    async def settled(self) -> None:
        """Returns once every task spawned so far (and what they spawned) is done."""
        while pending := [t for t in self._tasks if t is not asyncio.current_task()]:
            await asyncio.gather(*pending, return_exceptions=True)

    async def stop(self, grace: float) -> None:
        """Give the running tasks ``grace`` seconds, then cancel what is left."""
        tasks = list(self._tasks)
        if not tasks:
            return
        await asyncio.wait(tasks, timeout=grace)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
